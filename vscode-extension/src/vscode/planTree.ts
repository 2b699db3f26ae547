/**
 * The MasterPlan view: `devmatrix.plan.tree` read into planModel nodes, updated in place from
 * backend events and re-read when an event changes the plan's shape.
 */
import * as vscode from "vscode";
import { ServerCommand, type BackendEvent, type PlanTreeResult } from "../contract";
import { applyEvent, buildPlanTree, statusIcon, type PlanNode } from "../planModel";
import type { ServerController } from "./server";

export class PlanTreeProvider implements vscode.TreeDataProvider<PlanNode> {
  private root: PlanNode | undefined;
  private planId: number | undefined;
  private message = "No active plan. Create one from a spec with “DevMatrix: Plan from file”, or in the chat.";
  private readonly changed = new vscode.EventEmitter<PlanNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    private readonly server: ServerController,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  /** The plan shown, if any. */
  get activePlanId(): number | undefined {
    return this.planId;
  }

  /** Text shown above the tree when it is empty or stale. */
  get viewMessage(): string | undefined {
    return this.root === undefined ? this.message : undefined;
  }

  /** Read the plan again (the active one unless `planId` is given). */
  async reload(planId?: number): Promise<void> {
    if (this.server.clientState === "running" && !this.server.supports(ServerCommand.planTree)) {
      this.root = undefined;
      this.message = `The installed devmatrix-lsp has no ${ServerCommand.planTree} command, so this view stays empty; update devmatrix, or open the plan with “DevMatrix: Show plan”.`;
      this.changed.fire(undefined);
      return;
    }
    try {
      const plan = await this.server.execute<PlanTreeResult>(ServerCommand.planTree, planId === undefined ? {} : { planId });
      this.planId = plan.planId;
      this.root = buildPlanTree(plan);
    } catch (error) {
      this.root = undefined;
      this.message = error instanceof Error ? error.message : String(error);
      this.output.debug(`plan tree: ${this.message}`);
    }
    this.changed.fire(undefined);
  }

  /** Apply one backend event; re-reads the plan when the event needs it. */
  handleEvent(event: BackendEvent): void {
    if (this.root === undefined || this.planId === undefined) {
      if (event.type === "plan_created" || event.type === "plan_approved") void this.reload();
      return;
    }
    const outcome = applyEvent(this.root, this.planId, event);
    if (outcome.kind === "reload") void this.reload(this.planId);
    else if (outcome.kind === "changed") this.changed.fire(undefined);
  }

  getChildren(node?: PlanNode): PlanNode[] {
    if (node === undefined) return this.root ? [this.root] : [];
    return node.children;
  }

  getTreeItem(node: PlanNode): vscode.TreeItem {
    const collapsed =
      node.kind === "atom"
        ? vscode.TreeItemCollapsibleState.None
        : node.kind === "plan" || node.kind === "phase"
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(node.label, collapsed);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.tooltip;
    const icon = statusIcon(node.status);
    item.iconPath = new vscode.ThemeIcon(icon.codicon, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
    item.contextValue = `devmatrix.${node.kind}.${node.status}`;
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (node.kind === "atom" && node.atom && root) {
      const line = Math.max(0, (node.atom.start_line ?? 1) - 1);
      item.command = {
        command: "devmatrix.openAtom",
        title: "Open atom",
        arguments: [vscode.Uri.joinPath(root, node.atom.file), line],
      };
    }
    return item;
  }
}
