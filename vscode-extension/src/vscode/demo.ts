/**
 * The walkthrough's offline demo: point the scripted provider at prepared answers, then plan the
 * example spec on the private local backend. Looks for the repository's examples/taskboard first
 * and asks for the two files otherwise.
 */
import * as vscode from "vscode";
import { ServerCommand, type PlanResult } from "../contract";
import type { Parts } from "./commands";

async function findOrAsk(pattern: string, title: string, filters: Record<string, string[]>): Promise<vscode.Uri | undefined> {
  const found = await vscode.workspace.findFiles(pattern, "**/node_modules/**", 1);
  if (found.length > 0) return found[0];
  const picked = await vscode.window.showOpenDialog({ title, canSelectMany: false, filters });
  return picked?.[0];
}

/** Configure the offline demo in this workspace's settings and create its plan. */
export async function startDemo(parts: Parts): Promise<void> {
  if (!vscode.workspace.workspaceFolders?.length) {
    throw new Error("Open a folder first: the demo's plan and generated code live in the workspace.");
  }
  const spec = await findOrAsk("examples/taskboard/spec.md", "The demo's spec (examples/taskboard/spec.md)", { Markdown: ["md"] });
  if (!spec) return;
  const answers = await findOrAsk("examples/taskboard/answers.json", "The demo's prepared answers (examples/taskboard/answers.json)", { JSON: ["json"] });
  if (!answers) return;
  // A fresh server starts the private backend once with the demo's provider, rather than
  // reconfiguring a running one; the setting changes below join this restart.
  const restarted = parts.server.requestRestart("offline demo");
  const config = vscode.workspace.getConfiguration("devmatrix");
  await config.update("backendUrl", "", vscode.ConfigurationTarget.Workspace);
  await config.update("model.provider", "scripted", vscode.ConfigurationTarget.Workspace);
  await config.update("scriptedAnswers", answers.fsPath, vscode.ConfigurationTarget.Workspace);
  await restarted;
  const plan = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "DevMatrix demo: planning the taskboard spec on the private backend…" },
    () => parts.server.execute<PlanResult>(ServerCommand.planFromSpec, { path: spec.fsPath }),
  );
  await vscode.window.showTextDocument(vscode.Uri.parse(plan.uri), { preview: true });
  await parts.plans.reload(plan.planId);
  void vscode.window.showInformationMessage(
    `DevMatrix demo: plan ${plan.planId} is ready. Approve it, then start the run.`,
    "Approve plan",
  ).then((choice) => choice && vscode.commands.executeCommand("devmatrix.approvePlan"));
}
