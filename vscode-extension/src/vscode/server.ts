/**
 * Starts `python -m devmatrix_lsp` over stdio with the chosen interpreter and owns the one
 * debounced restart path (restart command, settings changes, interpreter changes, API key changes).
 * Everything the extension learns from the backend comes through this client.
 */
import { randomUUID } from "node:crypto";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  ResponseError,
  RevealOutputChannelOn,
  State,
  WorkDoneProgress,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import { EVENT_NOTIFICATION, type BackendEvent, type ServerCommandName } from "../contract";
import { Debounced } from "../debounce";
import { chooseInterpreter, SERVER_ARGS } from "../interpreter";
import { configurationParams, SettingsError, toInitializationOptions, type InitializationOptions, type RawSettings } from "../settings";
import type { ClientState } from "../statusModel";
import { INSTALL_COMMAND, probeServer, type StartupProblem } from "../startupCheck";
import { activeInterpreter, hasPythonExtension } from "./pythonExtension";
import type { Secrets } from "./secrets";

const SETTING_KEYS: Array<keyof RawSettings> = [
  "backendUrl",
  "dataDir",
  "scriptedAnswers",
  "model.provider",
  "model.name",
  "budgetPerRunUsd",
  "review.confidenceThreshold",
];

/** The workspace folder the server works in (the first one). */
export function workspaceRoot(): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.workspaceFolders?.[0];
}

export class ServerController implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private state: ClientState = "stopped";
  private readonly restarts: Debounced;
  private readonly stateEmitter = new vscode.EventEmitter<ClientState>();
  private readonly eventEmitter = new vscode.EventEmitter<BackendEvent>();
  /** While the chat panel waits for an answer, the server's showDocument for it is not needed. */
  private quietDocuments = 0;

  readonly onDidChangeState = this.stateEmitter.event;
  readonly onEvent = this.eventEmitter.event;

  constructor(
    private readonly output: vscode.LogOutputChannel,
    private readonly secrets: Secrets,
  ) {
    this.restarts = new Debounced((reasons) => this.restart(reasons), 300);
  }

  /** The client state (stopped, starting, running, failed). */
  get clientState(): ClientState {
    return this.state;
  }

  /** The one way to (re)start the server; calls close together collapse into one restart. */
  requestRestart(reason: string): Promise<void> {
    return this.restarts.trigger(reason);
  }

  /** Send changed settings to a running server; restart a stopped one, or join a restart under way. */
  async settingsChanged(): Promise<void> {
    if (this.client === undefined || this.state !== "running" || this.restarts.busy) {
      await this.requestRestart("settings changed");
      return;
    }
    const options = await this.readOptions();
    if (options !== undefined) {
      this.output.info("Settings changed: sending workspace/didChangeConfiguration");
      await this.client.sendNotification(DidChangeConfigurationNotification.type, configurationParams(options));
    }
  }

  /** Whether the running server advertises `command` (older servers lack the views' read commands). */
  supports(command: ServerCommandName): boolean {
    const commands = this.client?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    return commands.includes(command);
  }

  /** Run a contract command with one argument object; errors are the server's message for a person. */
  async execute<T>(command: ServerCommandName, argument: object = {}): Promise<T> {
    const client = this.requireClient();
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] })) as T;
  }

  /** Run a command with a work-done token and hand every `$/progress` report message to `onReport`;
   * cancelling `token` sends `$/cancelRequest`, which stops the server's work on it. */
  async executeStreaming<T>(
    command: ServerCommandName,
    argument: object,
    onReport: (message: string) => void,
    token?: vscode.CancellationToken,
  ): Promise<T> {
    const client = this.requireClient();
    const progressToken = randomUUID();
    const listener = client.onProgress(WorkDoneProgress.type, progressToken, (value) => {
      if (value.kind === "report" && value.message) onReport(value.message);
    });
    this.quietDocuments++;
    try {
      return (await client.sendRequest(
        ExecuteCommandRequest.type,
        { command, arguments: [argument], workDoneToken: progressToken },
        token,
      )) as T;
    } finally {
      this.quietDocuments--;
      listener.dispose();
    }
  }

  private requireClient(): LanguageClient {
    if (this.client === undefined || this.state !== "running") {
      throw new Error("The DevMatrix language server is not running. Run “DevMatrix: Restart language server” or see the DevMatrix output.");
    }
    return this.client;
  }

  private setState(state: ClientState): void {
    this.state = state;
    this.stateEmitter.fire(state);
  }

  private async readOptions(): Promise<InitializationOptions | undefined> {
    const config = vscode.workspace.getConfiguration("devmatrix", workspaceRoot()?.uri);
    const raw: RawSettings = {};
    for (const key of SETTING_KEYS) raw[key] = config.get(key);
    try {
      return toInitializationOptions(raw, await this.secrets.token(), workspaceRoot()?.uri.fsPath);
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      this.output.error(error.message);
      void this.offerFix(error.message, ["Open settings"]);
      return undefined;
    }
  }

  private async restart(reasons: string[]): Promise<void> {
    this.output.info(`(Re)starting the language server: ${[...new Set(reasons)].join(", ")}`);
    await this.stop();
    this.setState("starting");
    try {
      await this.start();
    } catch (error) {
      this.setState("failed");
      const message = `The DevMatrix language server failed to start: ${error instanceof Error ? error.message : String(error)}`;
      this.output.error(message);
      void this.offerFix(message, ["Show output", "Open settings"]);
    }
  }

  private async start(): Promise<void> {
    const options = await this.readOptions();
    if (options === undefined) {
      this.setState("failed");
      return;
    }
    const root = workspaceRoot();
    const setting = vscode.workspace.getConfiguration("devmatrix", root?.uri).get<string>("interpreter");
    const log = (line: string): void => this.output.info(line);
    const interpreter = chooseInterpreter(setting, await activeInterpreter(root?.uri, log));
    this.output.info(`Interpreter: ${interpreter.command} (from ${interpreter.source})`);
    const problem = await probeServer(interpreter.command);
    if (problem !== null) {
      this.setState("failed");
      this.reportProblem(problem);
      return;
    }
    const env = { ...process.env, ...(await this.secrets.apiKeyEnv()) };
    const serverOptions: ServerOptions = {
      command: interpreter.command,
      // no `transport`: with TransportKind.stdio the client appends `--stdio`, which devmatrix-lsp refuses
      args: [...SERVER_ARGS],
      options: { cwd: root?.uri.fsPath, env },
    };
    const client = new LanguageClient("devmatrix", "DevMatrix", serverOptions, this.clientOptions(options));
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped && this.client === client && this.state === "running") {
        this.output.warn("The language server stopped.");
        this.setState("failed");
      }
    });
    this.client = client;
    this.output.info(`Server command: ${interpreter.command} ${SERVER_ARGS.join(" ")}`);
    await client.start();
    client.onNotification(EVENT_NOTIFICATION, (event: BackendEvent) => this.eventEmitter.fire(event));
    this.setState("running");
  }

  private clientOptions(initializationOptions: InitializationOptions): LanguageClientOptions {
    return {
      documentSelector: [{ scheme: "file" }],
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions,
      middleware: {
        window: {
          showDocument: async (params, next) => {
            if (this.quietDocuments > 0 && params.uri.endsWith(".md")) {
              return { success: true };
            }
            const result = await next(params, new vscode.CancellationTokenSource().token);
            return result instanceof ResponseError ? { success: false } : result;
          },
        },
      },
    };
  }

  private reportProblem(problem: StartupProblem): void {
    this.output.error(`${problem.message}\n${problem.detail}`);
    const actions =
      problem.kind === "server-missing"
        ? ["Copy install command", "Open settings"]
        : hasPythonExtension()
          ? ["Select interpreter", "Open settings"]
          : ["Open settings"];
    void this.offerFix(problem.message, actions);
  }

  private async offerFix(message: string, actions: string[]): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, ...actions);
    if (choice === "Open settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "@ext:devmatrix.devmatrix");
    } else if (choice === "Copy install command") {
      await vscode.env.clipboard.writeText(INSTALL_COMMAND);
      void vscode.window.showInformationMessage(`Copied: ${INSTALL_COMMAND}. Run it in a terminal with your interpreter, then restart the server.`);
    } else if (choice === "Select interpreter") {
      await vscode.commands.executeCommand("python.setInterpreter");
    } else if (choice === "Show output") {
      this.output.show();
    }
  }

  private async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    try {
      await client.stop(10_000);
    } catch (error) {
      this.output.warn(`Stopping the old server: ${String(error)}`);
    }
    this.setState("stopped");
  }

  /** Stop the server (deactivate). */
  async dispose(): Promise<void> {
    this.restarts.cancel();
    await this.stop();
    this.stateEmitter.dispose();
    this.eventEmitter.dispose();
  }
}
