/**
 * The status bar item: backend state, run progress and cost, from `devmatrix.status`; polled while
 * a run is active and refreshed on every backend event.
 */
import * as vscode from "vscode";
import { ServerCommand, type StatusResult } from "../contract";
import { runActive, statusBarView } from "../statusModel";
import type { ServerController } from "./server";

const POLL_RUNNING_MS = 2_000;
const POLL_IDLE_MS = 30_000;

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("devmatrix.status", vscode.StatusBarAlignment.Left, 50);
  private status: StatusResult | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly refreshed = new vscode.EventEmitter<StatusResult | undefined>();
  /** Fires after every status read, with the new status. */
  readonly onDidRefresh = this.refreshed.event;

  constructor(private readonly server: ServerController) {
    this.item.name = "DevMatrix";
    this.item.command = "devmatrix.showStatusMenu";
    this.render();
    this.item.show();
  }

  /** The last status read from the server. */
  get last(): StatusResult | undefined {
    return this.status;
  }

  /** Ask the server for its status now (calls during a read share it). */
  refresh(): Promise<void> {
    this.refreshing ??= this.read().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async read(): Promise<void> {
    if (this.server.clientState !== "running") {
      this.status = undefined;
      this.render();
      return;
    }
    try {
      this.status = await this.server.execute<StatusResult>(ServerCommand.status);
    } catch (error) {
      this.status = { backend: null, state: "unreachable", message: error instanceof Error ? error.message : String(error) };
    }
    this.render();
    this.refreshed.fire(this.status);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), runActive(this.status) ? POLL_RUNNING_MS : POLL_IDLE_MS);
  }

  /** The client stopped or restarts: the last status belonged to the old server. */
  forget(): void {
    this.status = undefined;
    this.render();
  }

  /** Redraw from the client's state and the last status. */
  render(): void {
    const view = statusBarView(this.server.clientState, this.status);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.background ? new vscode.ThemeColor(view.background) : undefined;
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.item.dispose();
    this.refreshed.dispose();
  }
}
