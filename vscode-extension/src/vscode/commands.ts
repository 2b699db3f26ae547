/**
 * The extension's commands. Those that reach the backend call the contract's `devmatrix.*` server
 * commands; their ids differ from the server's because vscode-languageclient registers the
 * server's own command ids (used by code actions) itself.
 */
import * as vscode from "vscode";
import { ServerCommand, type PlanResult, type ServerCommandName } from "../contract";
import type { PlanNode } from "../planModel";
import { ChatPanel } from "./chatPanel";
import { startDemo } from "./demo";
import type { PlanTreeProvider } from "./planTree";
import type { ReviewQueue } from "./reviewView";
import type { Secrets } from "./secrets";
import type { ServerController } from "./server";
import type { StatusBar } from "./statusBar";

export interface Parts {
  context: vscode.ExtensionContext;
  server: ServerController;
  secrets: Secrets;
  plans: PlanTreeProvider;
  reviews: ReviewQueue;
  statusBar: StatusBar;
  output: vscode.LogOutputChannel;
}

/** Show an error from a command for a person, and log it. */
function guarded(output: vscode.LogOutputChannel, run: (...args: unknown[]) => Promise<unknown>): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    try {
      await run(...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      output.error(message);
      void vscode.window.showErrorMessage(`DevMatrix: ${message}`);
    }
  };
}

/** Refresh the views and the status bar after anything that changes the plan. */
export async function refreshAll(parts: Parts): Promise<void> {
  await Promise.all([parts.plans.reload(), parts.reviews.reload(), parts.statusBar.refresh()]);
}

async function showPlan(parts: Parts, plan: PlanResult): Promise<void> {
  await vscode.window.showTextDocument(vscode.Uri.parse(plan.uri), { preview: true, viewColumn: vscode.ViewColumn.Active });
  await parts.plans.reload(plan.planId);
  await parts.statusBar.refresh();
}

function fileArgument(arg: unknown): vscode.Uri | undefined {
  return arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
}

function atomId(arg: unknown): number | undefined {
  const node = arg as PlanNode | undefined;
  return node?.atom?.id;
}

async function runControl(parts: Parts, command: ServerCommandName, verb: string): Promise<void> {
  const planId = parts.plans.activePlanId;
  await parts.server.execute(command, planId === undefined ? {} : { planId });
  void vscode.window.setStatusBarMessage(`DevMatrix: run ${verb}`, 3000);
  await parts.statusBar.refresh();
}

/** Register every command; returns their disposables. */
export function registerCommands(parts: Parts): vscode.Disposable[] {
  const { server, output } = parts;
  const commands: Record<string, (...args: unknown[]) => Promise<unknown>> = {
    "devmatrix.restart": () => server.requestRestart("restart command"),
    "devmatrix.showOutput": async () => output.show(),
    "devmatrix.openSettings": async () => vscode.commands.executeCommand("workbench.action.openSettings", "@ext:devmatrix.devmatrix"),
    "devmatrix.setToken": () => parts.secrets.promptToken(),
    "devmatrix.setApiKey": () => parts.secrets.promptApiKey(),
    "devmatrix.openChat": async () => ChatPanel.show(parts.context.extensionUri, server, (plan) => showPlan(parts, plan)),
    "devmatrix.refresh": () => refreshAll(parts),
    "devmatrix.planFromFile": (arg) => planFromFile(parts, arg),
    "devmatrix.planFromSelection": () => planFromSelection(parts),
    "devmatrix.showPlan": async () => showPlan(parts, await server.execute<PlanResult>(ServerCommand.planShow, planArg(parts))),
    "devmatrix.approvePlan": () => approvePlan(parts),
    "devmatrix.startRun": () => runControl(parts, ServerCommand.runStart, "started"),
    "devmatrix.pauseRun": () => runControl(parts, ServerCommand.runPause, "paused"),
    "devmatrix.resumeRun": () => runControl(parts, ServerCommand.runResume, "resumed"),
    "devmatrix.cancelRun": () => runControl(parts, ServerCommand.runCancel, "cancelled"),
    "devmatrix.openAtom": (uri, line) => openAtom(uri as vscode.Uri, Number(line ?? 0)),
    "devmatrix.applyAtom": (arg) => applyAtom(parts, arg),
    "devmatrix.regenerateAtom": (arg) => regenerateAtom(parts, arg),
    "devmatrix.openReview": async (arg) => {
      const id = parts.reviews.itemFor(arg);
      if (id !== undefined) await parts.reviews.open(id);
    },
    "devmatrix.approveReview": async (arg) => withItem(parts, arg, (id) => parts.reviews.approve(id)),
    "devmatrix.rejectReview": async (arg) => withItem(parts, arg, (id) => parts.reviews.reject(id)),
    "devmatrix.editReview": async (arg) => withItem(parts, arg, (id) => parts.reviews.edit(id)),
    "devmatrix.submitReviewEdit": () => parts.reviews.submitEdit(),
    "devmatrix.showStatusMenu": () => statusMenu(parts),
    "devmatrix.startDemo": () => startDemo(parts),
  };
  return Object.entries(commands).map(([id, run]) => vscode.commands.registerCommand(id, guarded(output, run)));
}

async function planning(parts: Parts, command: ServerCommandName, argument: object): Promise<void> {
  const plan = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "DevMatrix: planning…" },
    () => parts.server.execute<PlanResult>(command, argument),
  );
  await showPlan(parts, plan);
}

async function planFromFile(parts: Parts, arg: unknown): Promise<void> {
  const uri = fileArgument(arg);
  if (!uri) throw new Error("Open or select a spec file (Markdown) first.");
  await planning(parts, ServerCommand.planFromFile, { uri: uri.toString() });
}

async function planFromSelection(parts: Parts): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) throw new Error("Select the text of a spec first.");
  const { start, end } = editor.selection;
  await planning(parts, ServerCommand.planFromSelection, {
    uri: editor.document.uri.toString(),
    range: { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } },
  });
}

async function approvePlan(parts: Parts): Promise<void> {
  const result = await parts.server.execute<{ planId: number; status: string }>(ServerCommand.planApprove, planArg(parts));
  void vscode.window.showInformationMessage(`DevMatrix: plan ${result.planId} is ${result.status}.`);
  await refreshAll(parts);
}

async function openAtom(uri: vscode.Uri, line: number): Promise<void> {
  const document = await vscode.workspace.openTextDocument(uri);
  const position = new vscode.Position(line, 0);
  await vscode.window.showTextDocument(document, { selection: new vscode.Range(position, position) });
}

async function applyAtom(parts: Parts, arg: unknown): Promise<void> {
  const id = atomId(arg);
  if (id === undefined) throw new Error("Pick an atom in the MasterPlan view.");
  const result = await parts.server.execute<{ applied: boolean }>(ServerCommand.atomApply, { atomId: id });
  if (!result.applied) void vscode.window.showWarningMessage("DevMatrix: the atom was not applied (no validated code yet?).");
}

async function regenerateAtom(parts: Parts, arg: unknown): Promise<void> {
  const id = atomId(arg);
  if (id === undefined) throw new Error("Pick an atom in the MasterPlan view.");
  const reason = await vscode.window.showInputBox({ title: "Regenerate atom", prompt: "What should change? (optional)" });
  if (reason === undefined) return;
  await parts.server.execute(ServerCommand.atomRegenerate, reason.trim() ? { atomId: id, reason: reason.trim() } : { atomId: id });
  await refreshAll(parts);
}

function planArg(parts: Parts): object {
  const planId = parts.plans.activePlanId;
  return planId === undefined ? {} : { planId };
}

async function withItem(parts: Parts, arg: unknown, action: (id: number) => Promise<void>): Promise<void> {
  const id = parts.reviews.itemFor(arg);
  if (id === undefined) throw new Error("Open a review item first (Review queue view).");
  await action(id);
  await parts.plans.reload(parts.plans.activePlanId);
}

async function statusMenu(parts: Parts): Promise<void> {
  const picks: Array<vscode.QuickPickItem & { command: string }> = [
    { label: "$(comment-discussion) Open chat", command: "devmatrix.openChat" },
    { label: "$(book) Show plan", command: "devmatrix.showPlan" },
    { label: "$(check) Approve plan", command: "devmatrix.approvePlan" },
    { label: "$(play) Start run", command: "devmatrix.startRun" },
    { label: "$(debug-pause) Pause run", command: "devmatrix.pauseRun" },
    { label: "$(debug-continue) Resume run", command: "devmatrix.resumeRun" },
    { label: "$(debug-stop) Cancel run", command: "devmatrix.cancelRun" },
    { label: "$(refresh) Restart language server", command: "devmatrix.restart" },
    { label: "$(output) Show output", command: "devmatrix.showOutput" },
  ];
  const status = parts.statusBar.last;
  const pick = await vscode.window.showQuickPick(picks, {
    title: status ? `DevMatrix — backend ${status.state}${status.backend ? ` (${status.backend})` : ""}` : "DevMatrix",
  });
  if (pick) await vscode.commands.executeCommand(pick.command);
}
