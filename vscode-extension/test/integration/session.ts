/**
 * A language client for tests: starts `python -m devmatrix_lsp` over stdio, speaks LSP through
 * vscode-languageserver-protocol, answers the server's requests the way VS Code does (applyEdit,
 * showDocument, workDoneProgress/create) and records every notification it receives.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  ApplyWorkspaceEditRequest,
  createProtocolConnection,
  InitializeRequest,
  ExecuteCommandRequest,
  PublishDiagnosticsNotification,
  ShowDocumentRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
  type Diagnostic,
  type InitializeResult,
  type ProtocolConnection,
  type TextEdit,
  type WorkspaceEdit,
} from "vscode-languageserver-protocol/node";

/** Pids of processes whose environment names `dataDir` (a private backend left behind). Linux only. */
export function processesUsing(dataDir: string): number[] {
  if (process.platform !== "linux") return [];
  const found: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (environ.includes(`DEVMATRIX_DATA_DIR=${dataDir}`)) found.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

export interface DiagnosticsChange {
  at: number;
  file: string;
  diagnostics: Diagnostic[];
}

/** Apply text edits (LSP positions, UTF-16 like JS strings) to a text. */
export function applyTextEdits(text: string, edits: TextEdit[]): string {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") lineStarts.push(i + 1);
  const offset = (p: { line: number; character: number }): number =>
    p.line >= lineStarts.length ? text.length : Math.min(lineStarts[p.line] + p.character, text.length);
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let result = text;
  for (const edit of sorted) {
    result = result.slice(0, offset(edit.range.start)) + edit.newText + result.slice(offset(edit.range.end));
  }
  return result;
}

export class LspSession {
  readonly connection: ProtocolConnection;
  readonly process: ChildProcess;
  readonly diagnostics: DiagnosticsChange[] = [];
  readonly notifications: Array<{ method: string; params: unknown }> = [];
  readonly shownDocuments: string[] = [];
  readonly progress: Array<{ token: string | number; value: unknown }> = [];
  readonly appliedEdits: WorkspaceEdit[] = [];
  readonly openDocuments = new Map<string, { version: number; text: string }>();
  private stderr = "";
  private readonly started = Date.now();

  constructor(python: string, readonly workspace: string) {
    const env = { ...process.env };
    for (const name of Object.keys(env)) {
      if (name.startsWith("DEVMATRIX_") || name.endsWith("_API_KEY") || name === "OPENAI_BASE_URL") delete env[name];
    }
    this.process = spawn(python, ["-m", "devmatrix_lsp"], { cwd: workspace, env, stdio: ["pipe", "pipe", "pipe"] });
    this.process.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString("utf8")).slice(-20_000);
    });
    this.connection = createProtocolConnection(
      new StreamMessageReader(this.process.stdout!),
      new StreamMessageWriter(this.process.stdin!),
    );
    this.answerServerRequests();
    this.connection.listen();
  }

  private answerServerRequests(): void {
    const c = this.connection;
    // vscode-jsonrpc hands $/progress only to handlers registered for its token, as VS Code does on create
    c.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      this.watchProgress(token);
      return null;
    });
    c.onRequest(ShowDocumentRequest.type, (params) => {
      this.shownDocuments.push(params.uri);
      return { success: true };
    });
    c.onRequest(ApplyWorkspaceEditRequest.type, (params) => {
      this.applyWorkspaceEdit(params.edit);
      return { applied: true };
    });
    c.onRequest("client/registerCapability", () => null);
    c.onRequest("workspace/configuration", (params: { items: unknown[] }) => params.items.map(() => null));
    c.onNotification(PublishDiagnosticsNotification.type, (params) => {
      this.diagnostics.push({ at: Date.now() - this.started, file: this.relative(params.uri), diagnostics: params.diagnostics });
    });
    c.onUnhandledNotification((message) => this.notifications.push({ method: message.method, params: message.params }));
  }

  /** Record `$/progress` for a token (one the server created, or one the client gives a request). */
  watchProgress(token: string | number): void {
    this.connection.onProgress(WorkDoneProgress.type, token, (value) => this.progress.push({ token, value }));
  }

  /** A workspace-relative path for a file URI. */
  relative(uri: string): string {
    return path.relative(this.workspace, fileURLToPath(uri)).split(path.sep).join("/");
  }

  /** The file URI of a workspace-relative path. */
  uri(file: string): string {
    return pathToFileURL(path.join(this.workspace, file)).toString();
  }

  /** Apply an edit to disk and to open documents, as VS Code would (text edits, CreateFile). */
  applyWorkspaceEdit(edit: WorkspaceEdit): void {
    this.appliedEdits.push(edit);
    const textEdits: Array<[string, TextEdit[]]> = Object.entries(edit.changes ?? {});
    for (const change of edit.documentChanges ?? []) {
      if ("kind" in change) {
        if (change.kind !== "create") throw new Error(`resource operation ${change.kind} not expected`);
        const file = fileURLToPath(change.uri);
        if (!existsSync(file) || change.options?.overwrite) {
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, "");
        }
      } else {
        textEdits.push([change.textDocument.uri, change.edits as TextEdit[]]);
      }
    }
    for (const [uri, edits] of textEdits) {
      const file = fileURLToPath(uri);
      const open = this.openDocuments.get(uri);
      const before = open?.text ?? (existsSync(file) ? readFileSync(file, "utf8") : "");
      const after = applyTextEdits(before, edits);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, after);
      if (open) {
        open.version++;
        open.text = after;
        void this.connection.sendNotification("textDocument/didChange", {
          textDocument: { uri, version: open.version },
          contentChanges: [{ text: after }],
        });
      }
    }
  }

  /** didOpen a workspace file (empty when it does not exist yet, like an editor buffer). */
  async open(file: string, languageId = "python"): Promise<string> {
    const uri = this.uri(file);
    const full = path.join(this.workspace, file);
    const text = existsSync(full) ? readFileSync(full, "utf8") : "";
    this.openDocuments.set(uri, { version: 1, text });
    await this.connection.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId, version: 1, text } });
    return uri;
  }

  /** initialize + initialized with VS Code's relevant client capabilities; returns the server's answer. */
  async initialize(initializationOptions: object): Promise<InitializeResult> {
    const result = await this.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: this.uri(""),
      workspaceFolders: [{ uri: this.uri(""), name: "workspace" }],
      initializationOptions,
      capabilities: {
        workspace: { applyEdit: true, workspaceEdit: { documentChanges: true, resourceOperations: ["create"] }, executeCommand: {} },
        window: { workDoneProgress: true, showDocument: { support: true } },
        textDocument: {
          synchronization: { didSave: true },
          publishDiagnostics: { relatedInformation: true },
          codeAction: {
            codeActionLiteralSupport: { codeActionKind: { valueSet: ["quickfix", "refactor.rewrite", "source"] } },
            resolveSupport: { properties: ["edit"] },
            dataSupport: true,
          },
        },
      },
    });
    await this.connection.sendNotification("initialized", {});
    return result;
  }

  /** workspace/executeCommand with one argument object. */
  async execute<T>(command: string, argument: object = {}): Promise<T> {
    return (await this.connection.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] })) as T;
  }

  /** The diagnostics of `file` with source devmatrix, as last published. */
  currentDiagnostics(file: string): Diagnostic[] {
    const last = [...this.diagnostics].reverse().find((d) => d.file === file);
    return (last?.diagnostics ?? []).filter((d) => d.source === "devmatrix");
  }

  /** Every devmatrix diagnostic ever published for `file`. */
  seenDiagnostics(file: string): Diagnostic[] {
    return this.diagnostics.filter((d) => d.file === file).flatMap((d) => d.diagnostics.filter((x) => x.source === "devmatrix"));
  }

  /** Poll `condition` until it holds or `timeoutMs` passes; the error names what was awaited. */
  async waitFor<T>(what: string, timeoutMs: number, condition: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.process.exitCode !== null) throw new Error(`the server exited (${this.process.exitCode}) while waiting for ${what}\n${this.log()}`);
      const value = await condition();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The server's stderr tail, for failure messages. */
  log(): string {
    return `--- devmatrix-lsp stderr (tail) ---\n${this.stderr.slice(-4000)}`;
  }

  /** shutdown + exit, then make sure the process is gone. */
  async close(): Promise<void> {
    try {
      await Promise.race([this.connection.sendRequest("shutdown"), new Promise((r) => setTimeout(r, 15_000))]);
      await this.connection.sendNotification("exit");
    } catch {
      // the process may already be gone; the kill below covers it
    }
    const exited = new Promise<void>((resolve) => {
      if (this.process.exitCode !== null) resolve();
      else this.process.once("exit", () => resolve());
    });
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
    this.connection.dispose();
  }
}
