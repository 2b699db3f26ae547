/**
 * The chat panel: a webview (strict CSP, one nonce'd bundled script, no remote resources) that
 * sends messages through `devmatrix.chat`, shows the streamed answer as it arrives, and turns an
 * answer into a plan with `devmatrix.plan.fromFile`.
 */
import * as vscode from "vscode";
import { ServerCommand, type ChatResult, type PlanResult } from "../contract";
import { ChatTranscript, chatHtml, makeNonce, messageView, type ChatMessage } from "../chatModel";
import type { ServerController } from "./server";

type FromWebview = { type: "send"; text: string } | { type: "makePlan"; id: number } | { type: "ready" };

const RENDER_EVERY_MS = 50;

export class ChatPanel implements vscode.Disposable {
  private static current: ChatPanel | undefined;
  private readonly transcript = new ChatTranscript();
  private readonly disposables: vscode.Disposable[] = [];
  /** Cancelled when the panel closes: an answer still streaming stops being read. */
  private readonly closing = new vscode.CancellationTokenSource();
  private closed = false;

  /** Show the panel, creating it on first use. */
  static show(extensionUri: vscode.Uri, server: ServerController, onPlan: (plan: PlanResult) => Promise<void>): void {
    if (ChatPanel.current) {
      ChatPanel.current.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel("devmatrix.chat", "DevMatrix chat", vscode.ViewColumn.Beside, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist", "webview"), vscode.Uri.joinPath(extensionUri, "media")],
    });
    ChatPanel.current = new ChatPanel(panel, extensionUri, server, onPlan);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly server: ServerController,
    private readonly onPlan: (plan: PlanResult) => Promise<void>,
  ) {
    const webview = panel.webview;
    webview.html = chatHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "dist", "webview", "chat.js")).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "media", "chat.css")).toString(),
    });
    this.disposables.push(
      webview.onDidReceiveMessage((m: FromWebview) => void this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private async receive(message: FromWebview): Promise<void> {
    if (message.type === "ready") {
      this.transcript.messages.forEach((m) => this.post(m));
    } else if (message.type === "send" && message.text.trim() !== "") {
      await this.ask(message.text.trim());
    } else if (message.type === "makePlan") {
      await this.makePlan(message.id);
    }
  }

  private post(message: ChatMessage): void {
    if (this.closed) return; // a closed panel's webview throws on every use
    void this.panel.webview.postMessage({ type: "message", message: messageView(message) });
  }

  private async ask(text: string): Promise<void> {
    const answer = this.transcript.ask(text);
    this.post(this.transcript.messages[this.transcript.messages.length - 2]);
    this.post(answer);
    let lastRender = 0;
    const argument = this.transcript.conversationId === undefined ? { text } : { text, conversationId: this.transcript.conversationId };
    try {
      const result = await this.server.executeStreaming<ChatResult>(
        ServerCommand.chat,
        argument,
        (delta) => {
          this.transcript.append(answer, delta);
          if (Date.now() - lastRender >= RENDER_EVERY_MS) {
            lastRender = Date.now();
            this.post(answer);
          }
        },
        this.closing.token,
      );
      this.transcript.finish(answer, result, await readText(result.uri));
      if (result.kind === "plan" && result.planId !== undefined) {
        await this.onPlan({ planId: result.planId, uri: result.uri });
      }
    } catch (error) {
      if (this.closed) return; // stopped by closing the panel; the backend still saves the turn
      this.transcript.fail(answer, error instanceof Error ? error.message : String(error));
    }
    this.post(answer);
  }

  private async makePlan(id: number): Promise<void> {
    const answer = this.transcript.messages.find((m) => m.id === id);
    if (answer?.uri === undefined) return;
    try {
      const plan = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "DevMatrix: planning from the answer…" },
        () => this.server.execute<PlanResult>(ServerCommand.planFromFile, { uri: answer.uri }),
      );
      answer.planId = plan.planId;
      answer.kind = "plan";
      this.post(answer);
      await this.onPlan(plan);
    } catch (error) {
      void vscode.window.showErrorMessage(`DevMatrix: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  dispose(): void {
    if (ChatPanel.current !== this) return;
    ChatPanel.current = undefined;
    this.closed = true;
    this.closing.cancel();
    this.closing.dispose();
    this.disposables.forEach((d) => d.dispose());
    this.panel.dispose();
  }
}

async function readText(uri: string): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.parse(uri)));
  } catch {
    return undefined; // the streamed text stays; the conversation's file is only a fallback
  }
}
