/**
 * A fake of the `vscode` module, enough for the extension and vscode-languageclient to activate
 * in plain Node: real event emitters, URIs (vscode-uri, the implementation VS Code uses) and
 * value classes; windows, views and the status bar as records the test reads; settings from a map.
 * Members the extension does not reach are left out, so a new dependency fails loudly.
 */
import { existsSync } from "node:fs";
import { URI, Utils } from "vscode-uri";

type Listener<T> = (e: T) => unknown;

export class Disposable {
  static from(...items: Array<{ dispose(): unknown }>): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  constructor(private readonly callOnDispose: () => unknown) {}
  dispose(): void {
    this.callOnDispose();
  }
}

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>, thisArg?: unknown, disposables?: Disposable[]): Disposable => {
    const bound: Listener<T> = (e) => listener.call(thisArg, e);
    this.listeners.add(bound);
    const d = new Disposable(() => this.listeners.delete(bound));
    disposables?.push(d);
    return d;
  };
  fire(e: T): void {
    [...this.listeners].forEach((l) => l(e));
  }
  dispose(): void {
    this.listeners.clear();
  }
}

/** An event nobody fires. */
const never = new EventEmitter<unknown>().event;

export const Uri = Object.assign(URI, { joinPath: Utils.joinPath });

export class Position {
  constructor(readonly line: number, readonly character: number) {}
}
export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
    this.start = typeof a === "number" ? new Position(a, b as number) : a;
    this.end = typeof a === "number" ? new Position(c as number, d as number) : (b as Position);
  }
}
export class Location {
  constructor(readonly uri: URI, readonly range: Range) {}
}
export class Diagnostic {
  source?: string;
  code?: string | number;
  relatedInformation?: unknown[];
  tags?: number[];
  data?: unknown;
  constructor(readonly range: Range, readonly message: string, readonly severity = 0) {}
}
export class DiagnosticRelatedInformation {
  constructor(readonly location: Location, readonly message: string) {}
}
export class TextEdit {
  constructor(readonly range: Range, readonly newText: string) {}
}
export class WorkspaceEdit {}
export class CodeActionKind {
  static readonly Empty = new CodeActionKind("");
  static readonly QuickFix = new CodeActionKind("quickfix");
  static readonly Refactor = new CodeActionKind("refactor");
  static readonly RefactorExtract = new CodeActionKind("refactor.extract");
  static readonly RefactorInline = new CodeActionKind("refactor.inline");
  static readonly RefactorRewrite = new CodeActionKind("refactor.rewrite");
  static readonly Source = new CodeActionKind("source");
  static readonly SourceOrganizeImports = new CodeActionKind("source.organizeImports");
  constructor(readonly value: string) {}
  append(part: string): CodeActionKind {
    return new CodeActionKind(this.value ? `${this.value}.${part}` : part);
  }
}
export class CodeAction {
  constructor(readonly title: string, readonly kind?: CodeActionKind) {}
}
export class ThemeIcon {
  constructor(readonly id: string, readonly color?: ThemeColor) {}
}
export class ThemeColor {
  constructor(readonly id: string) {}
}
export class TreeItem {
  constructor(readonly label: string, readonly collapsibleState = 0) {}
}
export class MarkdownString {
  constructor(public value = "") {}
}
export class CancellationError extends Error {}
export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  readonly token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
  cancel(): void {
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
  dispose(): void {}
}
export class RelativePattern {
  constructor(readonly base: unknown, readonly pattern: string) {}
}
/** Value classes vscode-languageclient subclasses at load time; these tests never build them. */
export class CallHierarchyItem {}
export class CodeLens {}
export class CompletionItem {}
export class DocumentLink {}
export class InlayHint {}
export class SymbolInformation {}
export class TypeHierarchyItem {}
export class TabInputText {}
export class TabInputTextDiff {}
export class TabInputCustom {}

export const DiagnosticSeverity = { Error: 0, Warning: 1, Information: 2, Hint: 3 };
export const DiagnosticTag = { Unnecessary: 1, Deprecated: 2 };
export const TreeItemCollapsibleState = { None: 0, Collapsed: 1, Expanded: 2 };
export const StatusBarAlignment = { Left: 1, Right: 2 };
export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 };
export const ViewColumn = { Active: -1, Beside: -2, One: 1 };
export const ConfigurationTarget = { Global: 1, Workspace: 2, WorkspaceFolder: 3 };
export const CodeActionTriggerKind = { Invoke: 1, Automatic: 2 };
export const NotebookCellKind = { Markup: 1, Code: 2 };
export const TextDocumentSaveReason = { Manual: 1, AfterDelay: 2, FocusOut: 3 };
export const FileType = { Unknown: 0, File: 1, Directory: 2, SymbolicLink: 64 };
export const version = "1.82.0";

/** A webview panel as VS Code gives it: using the webview of a closed panel throws, as VS Code's
 * does ("Webview is disposed"); `receive` is the webview's script posting a message. */
export class FakeWebviewPanel {
  readonly posted: unknown[] = [];
  disposed = false;
  private readonly received = new EventEmitter<unknown>();
  private readonly closed = new EventEmitter<void>();
  private readonly view = {
    html: "",
    cspSource: "vscode-resource:",
    asWebviewUri: (uri: URI) => uri,
    onDidReceiveMessage: this.received.event,
    postMessage: async (message: unknown) => (this.posted.push(message), true),
  };
  readonly onDidDispose = this.closed.event;
  constructor(readonly viewType: string) {}
  get webview() {
    if (this.disposed) throw new Error("Webview is disposed");
    return this.view;
  }
  reveal(): void {}
  receive(message: unknown): void {
    this.received.fire(message);
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.closed.fire();
  }
}

/** What the test controls and reads. */
export const host = {
  settings: new Map<string, unknown>(),
  configurationChanged: new EventEmitter<{ affectsConfiguration(section: string): boolean }>(),
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  executed: [] as Array<{ command: string; args: unknown[] }>,
  messages: [] as Array<{ level: "error" | "warning" | "info"; message: string; actions: string[] }>,
  /** Answers to give notifications, by message substring (default: dismissed). */
  answers: new Map<string, string>(),
  output: [] as string[],
  statusBarItems: [] as Array<{ id: string; text: string; tooltip: string }>,
  treeViews: new Map<string, { treeDataProvider: unknown; message?: string }>(),
  diagnostics: new Map<string, Diagnostic[]>(),
  diagnosticsChanged: new EventEmitter<{ uris: URI[] }>(),
  shownDocuments: [] as string[],
  /** Answers for showInputBox, in order; each is checked with the box's validateInput first. */
  inputs: [] as string[],
  inputValidation: [] as Array<string | undefined>,
  contentProviders: new Map<string, { provideTextDocumentContent(uri: URI): string }>(),
  workspaceFolders: [] as Array<{ uri: URI; name: string; index: number }>,
  webviewPanels: [] as FakeWebviewPanel[],
};

/** Tell listeners that these settings (full keys, e.g. "devmatrix.interpreter") changed. */
export function changeSettings(values: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(values)) host.settings.set(key, value);
  const keys = Object.keys(values);
  host.configurationChanged.fire({
    affectsConfiguration: (section) => keys.some((k) => k === section || k.startsWith(`${section}.`)),
  });
}

function notify(level: "error" | "warning" | "info") {
  return async (message: string, ...rest: unknown[]): Promise<string | undefined> => {
    const actions = rest.filter((r): r is string => typeof r === "string");
    host.messages.push({ level, message, actions });
    const answer = [...host.answers].find(([part]) => message.includes(part));
    return answer?.[1];
  };
}

function outputChannel(name: string) {
  const line = (level: string) => (text: string) => host.output.push(`[${name}] ${level} ${text}`);
  return {
    name,
    logLevel: 2,
    onDidChangeLogLevel: never,
    append: line(""),
    appendLine: line(""),
    replace: line(""),
    trace: line("trace"),
    debug: line("debug"),
    info: line("info"),
    warn: line("warn"),
    error: line("error"),
    clear: () => undefined,
    show: () => undefined,
    hide: () => undefined,
    dispose: () => undefined,
  };
}

export const window = {
  activeTextEditor: undefined,
  visibleTextEditors: [],
  tabGroups: { all: [], onDidChangeTabs: never, onDidChangeTabGroups: never },
  onDidChangeActiveTextEditor: never,
  onDidChangeVisibleTextEditors: never,
  createOutputChannel: outputChannel,
  showErrorMessage: notify("error"),
  showWarningMessage: notify("warning"),
  showInformationMessage: notify("info"),
  showInputBox: async (options: { validateInput?: (value: string) => string | undefined }) => {
    const answer = host.inputs.shift();
    const problem = answer === undefined ? undefined : options.validateInput?.(answer) ?? undefined;
    host.inputValidation.push(problem);
    return problem === undefined ? answer : undefined; // a refused value cannot be submitted: the person escapes
  },
  setStatusBarMessage: () => new Disposable(() => undefined),
  withProgress: async <T>(_options: unknown, task: (progress: unknown, token: unknown) => Promise<T>) =>
    task({ report: () => undefined }, new CancellationTokenSource().token),
  showTextDocument: async (target: URI | { uri: URI }) => {
    host.shownDocuments.push(("uri" in target ? target.uri : target).toString());
  },
  createStatusBarItem: (id: string) => {
    const item = { id, text: "", tooltip: "", name: "", command: "", backgroundColor: undefined, show: () => undefined, dispose: () => undefined };
    host.statusBarItems.push(item);
    return item;
  },
  createWebviewPanel: (viewType: string) => {
    const panel = new FakeWebviewPanel(viewType);
    host.webviewPanels.push(panel);
    return panel;
  },
  createTreeView: (id: string, options: { treeDataProvider: unknown }) => {
    const view = { ...options, message: undefined as string | undefined, badge: undefined, dispose: () => undefined };
    host.treeViews.set(id, view);
    return view;
  },
};

function section(name?: string) {
  const prefix = name ? `${name}.` : "";
  return {
    get: <T>(key: string, fallback?: T): T | undefined => (host.settings.has(prefix + key) ? (host.settings.get(prefix + key) as T) : fallback),
    has: (key: string) => host.settings.has(prefix + key),
    inspect: () => undefined,
    update: async (key: string, value: unknown) => changeSettings({ [prefix + key]: value }),
  };
}

export const workspace = {
  get workspaceFolders() {
    return host.workspaceFolders;
  },
  textDocuments: [],
  notebookDocuments: [],
  getConfiguration: section,
  getWorkspaceFolder: (uri: URI) => host.workspaceFolders.find((f) => uri.fsPath.startsWith(f.uri.fsPath)),
  onDidChangeConfiguration: host.configurationChanged.event,
  onDidOpenTextDocument: never,
  onDidCloseTextDocument: never,
  onDidChangeTextDocument: never,
  onDidSaveTextDocument: never,
  onWillSaveTextDocument: never,
  onDidOpenNotebookDocument: never,
  onDidCloseNotebookDocument: never,
  onDidChangeNotebookDocument: never,
  onDidSaveNotebookDocument: never,
  onDidChangeWorkspaceFolders: never,
  onDidCreateFiles: never,
  onDidDeleteFiles: never,
  onDidRenameFiles: never,
  onWillCreateFiles: never,
  onWillDeleteFiles: never,
  onWillRenameFiles: never,
  findFiles: async (pattern: string) => {
    const root = host.workspaceFolders[0]?.uri.fsPath;
    const file = root === undefined ? undefined : `${root}/${pattern}`;
    return file !== undefined && existsSync(file) ? [URI.file(file)] : [];
  },
  registerTextDocumentContentProvider: (scheme: string, provider: { provideTextDocumentContent(uri: URI): string }) => {
    host.contentProviders.set(scheme, provider);
    return new Disposable(() => host.contentProviders.delete(scheme));
  },
  createFileSystemWatcher: () => ({ onDidCreate: never, onDidChange: never, onDidDelete: never, dispose: () => undefined }),
};

export const commands = {
  registerCommand: (id: string, run: (...args: unknown[]) => unknown) => {
    if (host.commands.has(id)) throw new Error(`command '${id}' already exists`);
    host.commands.set(id, run);
    return new Disposable(() => host.commands.delete(id));
  },
  executeCommand: async (id: string, ...args: unknown[]) => {
    host.executed.push({ command: id, args });
    return host.commands.get(id)?.(...args);
  },
};

function register() {
  return () => new Disposable(() => undefined);
}

export const languages = {
  match: () => 10,
  onDidChangeDiagnostics: host.diagnosticsChanged.event,
  getDiagnostics: (uri: URI) => host.diagnostics.get(uri.toString()) ?? [],
  createDiagnosticCollection: (name: string) => ({
    name,
    set: (uri: URI, diagnostics: Diagnostic[] | undefined) => {
      host.diagnostics.set(uri.toString(), diagnostics ?? []);
      host.diagnosticsChanged.fire({ uris: [uri] });
    },
    delete: (uri: URI) => host.diagnostics.delete(uri.toString()),
    clear: () => host.diagnostics.clear(),
    forEach: () => undefined,
    get: (uri: URI) => host.diagnostics.get(uri.toString()),
    has: (uri: URI) => host.diagnostics.has(uri.toString()),
    dispose: () => undefined,
  }),
  registerCodeActionsProvider: register(),
};

/**
 * The Python extension (ms-python.python) as its public API looks to a caller: an active
 * interpreter per resource, `resolveEnvironment` to its executable, and the change event it fires
 * when the person picks another interpreter. Installed in the fake with `installExtension`.
 */
export class FakePythonExtension {
  readonly id = "ms-python.python";
  isActive = false;
  activations = 0;
  private readonly changed = new EventEmitter<{ id: string; path: string }>();
  readonly exports = {
    ready: Promise.resolve(),
    environments: {
      getActiveEnvironmentPath: (_resource?: URI) => ({ id: this.interpreter, path: this.interpreter }),
      resolveEnvironment: async (environment: { path: string } | string) => ({
        executable: { uri: URI.file(typeof environment === "string" ? environment : environment.path) },
      }),
      onDidChangeActiveEnvironmentPath: this.changed.event,
    },
  };

  constructor(public interpreter: string) {}

  async activate(): Promise<typeof this.exports> {
    this.activations++;
    this.isActive = true;
    return this.exports;
  }

  /** The person selects another interpreter ("Python: Select Interpreter"). */
  select(interpreter: string): void {
    this.interpreter = interpreter;
    this.changed.fire({ id: interpreter, path: interpreter });
  }
}

const installed = new Map<string, { id: string }>();
const extensionsChanged = new EventEmitter<void>();

/** Install an extension in the fake (fires `extensions.onDidChange`, as VS Code does). */
export function installExtension(extension: { id: string }): void {
  installed.set(extension.id, extension);
  extensionsChanged.fire();
}

export const extensions = {
  getExtension: (id: string) => installed.get(id),
  onDidChange: extensionsChanged.event,
  get all() {
    return [...installed.values()];
  },
};

export const env = {
  appName: "Fake VS Code",
  language: "en",
  clipboard: { writeText: async () => undefined, readText: async () => "" },
  openExternal: async () => true,
};
