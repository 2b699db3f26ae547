/**
 * Entry point: wires the language client, views, status bar, chat and commands together.
 * The language server is the only link to the backend; everything here goes through it.
 */
import * as vscode from "vscode";
import { Debounced } from "./debounce";
import { changeAction } from "./settings";
import { runActive } from "./statusModel";
import { refreshAll, registerCommands, type Parts } from "./vscode/commands";
import { PlanTreeProvider } from "./vscode/planTree";
import { onInterpreterChange } from "./vscode/pythonExtension";
import { ReviewQueue } from "./vscode/reviewView";
import { REVIEW_SCHEME } from "./reviewModel";
import { Secrets } from "./vscode/secrets";
import { ServerController } from "./vscode/server";
import { StatusBar } from "./vscode/statusBar";

let controller: ServerController | undefined;

/** Activate: start the server through the restart path and register the UI. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("DevMatrix", { log: true });
  const secrets = new Secrets(context.secrets);
  const server = new ServerController(output, secrets);
  controller = server;
  const plans = new PlanTreeProvider(server, output);
  const reviews = new ReviewQueue(server, output);
  const statusBar = new StatusBar(server);
  const parts: Parts = { context, server, secrets, plans, reviews, statusBar, output };

  const planView = vscode.window.createTreeView("devmatrix.plan", { treeDataProvider: plans, showCollapseAll: true });
  const reviewView = vscode.window.createTreeView("devmatrix.review", { treeDataProvider: reviews });
  const updateBadges = (): void => {
    planView.message = plans.viewMessage;
    reviewView.badge = reviews.size > 0 ? { value: reviews.size, tooltip: `${reviews.size} review items wait for you` } : undefined;
    reviewView.message = reviews.viewMessage;
  };

  // Live updates come from devmatrix/event; without it (an older server) the views follow the
  // server's diagnostics and the status polled during a run.
  const viewRefresh = new Debounced(async () => {
    await Promise.all([plans.reload(plans.activePlanId), reviews.reload()]);
  }, 500);
  let lastRun: string | undefined;
  let eventsSeen = false;
  const withDiagnostics = new Set<string>();

  context.subscriptions.push(
    output,
    { dispose: () => viewRefresh.cancel() },
    statusBar.onDidRefresh((status) => {
      const run = status?.run ? `${status.run.run_id}:${status.run.status}` : undefined;
      if (!eventsSeen && (runActive(status) || run !== lastRun)) void viewRefresh.trigger("run status");
      lastRun = run;
    }),
    vscode.languages.onDidChangeDiagnostics((e) => {
      let ours = false;
      for (const uri of e.uris) {
        const key = uri.toString();
        const has = vscode.languages.getDiagnostics(uri).some((d) => d.source === "devmatrix");
        ours ||= has || withDiagnostics.has(key);
        if (has) withDiagnostics.add(key);
        else withDiagnostics.delete(key);
      }
      if (ours && !eventsSeen && server.clientState === "running") void viewRefresh.trigger("diagnostics");
    }),
    statusBar,
    planView,
    reviewView,
    plans.onDidChangeTreeData(updateBadges),
    reviews.onDidChangeTreeData(updateBadges),
    vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, reviews),
    ...registerCommands(parts),
    server.onDidChangeState((state) => {
      if (state === "running") void refreshAll(parts);
      else statusBar.forget();
    }),
    server.onEvent((event) => {
      eventsSeen = true;
      output.debug(`event ${event.type} ${JSON.stringify(event.payload ?? {})}`);
      plans.handleEvent(event);
      if (event.type.startsWith("review_")) void reviews.reload();
      void statusBar.refresh();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      const action = changeAction((section) => e.affectsConfiguration(section));
      if (action === "restart") void server.requestRestart("settings changed");
      else if (action === "notify") void server.settingsChanged();
    }),
    secrets.onDidChange((what) => {
      if (what === "token") void server.settingsChanged();
      else void server.requestRestart("API key changed");
    }),
    onInterpreterChange(() => void server.requestRestart("Python interpreter changed")),
    vscode.window.onDidChangeActiveTextEditor(() => void reviews.updateEditContext()),
    { dispose: () => void server.dispose() },
  );
  await server.requestRestart("activation");
}

/** Deactivate: stop the language server (which stops a private backend). */
export async function deactivate(): Promise<void> {
  await controller?.dispose();
  controller = undefined;
}
