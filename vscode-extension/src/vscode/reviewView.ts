/**
 * The review queue view, the diff editor of one item (current vs proposed, served by a
 * TextDocumentContentProvider) and the Approve / Reject / Edit actions of its title bar.
 */
import * as vscode from "vscode";
import { ServerCommand, type ReviewItemData, type ReviewListResult } from "../contract";
import { buildReviewNodes, diffTitle, parseReviewPath, REVIEW_SCHEME, reviewPath, sideText, type ReviewNode } from "../reviewModel";
import type { ServerController } from "./server";

export class ReviewQueue implements vscode.TreeDataProvider<ReviewNode>, vscode.TextDocumentContentProvider {
  private items = new Map<number, ReviewItemData>();
  private nodes: ReviewNode[] = [];
  /** Untitled documents opened by "Edit", by the review item they edit. */
  private readonly edits = new Map<string, number>();
  private readonly changed = new vscode.EventEmitter<undefined>();
  private readonly docsChanged = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly onDidChange = this.docsChanged.event;

  constructor(
    private readonly server: ServerController,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  /** How many items wait for a person. */
  get size(): number {
    return this.nodes.length;
  }

  /** Text shown above the list when it is empty. */
  get viewMessage(): string | undefined {
    if (this.nodes.length > 0) return undefined;
    return this.server.clientState === "running" && !this.server.supports(ServerCommand.reviewList)
      ? `The installed devmatrix-lsp has no ${ServerCommand.reviewList} command; review items show as warnings with code actions in the editor instead.`
      : "Nothing to review.";
  }

  /** Read the open items of the active plan again. */
  async reload(): Promise<void> {
    if (!this.server.supports(ServerCommand.reviewList)) {
      this.items.clear();
      this.nodes = [];
      this.changed.fire(undefined);
      return;
    }
    try {
      const result = await this.server.execute<ReviewListResult>(ServerCommand.reviewList, { status: "open" });
      this.items = new Map(result.items.map((i) => [i.id, i]));
      this.nodes = buildReviewNodes(result.items);
    } catch (error) {
      this.output.debug(`review list: ${error instanceof Error ? error.message : String(error)}`);
      this.items.clear();
      this.nodes = [];
    }
    this.changed.fire(undefined);
  }

  getChildren(node?: ReviewNode): ReviewNode[] {
    return node === undefined ? this.nodes : [];
  }

  getTreeItem(node: ReviewNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.id = `review/${node.itemId}`;
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.iconPath = new vscode.ThemeIcon("eye", new vscode.ThemeColor("list.warningForeground"));
    item.contextValue = "devmatrix.reviewItem";
    item.command = { command: "devmatrix.openReview", title: "Open review", arguments: [node.itemId] };
    return item;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const parsed = parseReviewPath(uri.path);
    const item = parsed && this.items.get(parsed.itemId);
    if (!parsed || !item) {
      return "# This review item is closed or no longer known. Refresh the review queue.\n";
    }
    return sideText(item, parsed.side);
  }

  /** Show the item as a diff editor: current on the left, proposed on the right. */
  async open(itemId: number): Promise<void> {
    const item = this.items.get(itemId);
    if (!item) {
      void vscode.window.showWarningMessage(`Review item ${itemId} is not open any more.`);
      return;
    }
    const file = item.atom?.file ?? "";
    const left = vscode.Uri.from({ scheme: REVIEW_SCHEME, path: reviewPath(itemId, "current", file) });
    const right = vscode.Uri.from({ scheme: REVIEW_SCHEME, path: reviewPath(itemId, "proposed", file) });
    await vscode.commands.executeCommand("vscode.diff", left, right, diffTitle(item), { preview: true });
  }

  /** The review item of the active editor (a diff side, or an "Edit" document), or the one given. */
  itemFor(argument: unknown): number | undefined {
    if (typeof argument === "number") return argument;
    if (argument instanceof vscode.Uri) return this.itemOfUri(argument);
    if (argument && typeof argument === "object" && "itemId" in argument) return Number((argument as ReviewNode).itemId);
    const uri = vscode.window.activeTextEditor?.document.uri;
    return uri ? this.itemOfUri(uri) : undefined;
  }

  private itemOfUri(uri: vscode.Uri): number | undefined {
    if (uri.scheme === REVIEW_SCHEME) return parseReviewPath(uri.path)?.itemId;
    return this.edits.get(uri.toString());
  }

  /** Approve the item. */
  async approve(itemId: number): Promise<void> {
    await this.server.execute(ServerCommand.reviewApprove, { itemId });
    await this.closed(itemId, "approved");
  }

  /** Ask why, then reject the item (the model gets the reason for its next attempt). */
  async reject(itemId: number): Promise<void> {
    const reason = await vscode.window.showInputBox({
      title: "Reject the proposed code",
      prompt: "Why is it wrong? The model gets this for its next attempt.",
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === "" ? "Say what is wrong, so the next attempt can fix it." : undefined),
    });
    if (reason === undefined) return;
    await this.server.execute(ServerCommand.reviewReject, { itemId, reason: reason.trim() });
    await this.closed(itemId, "rejected");
  }

  /** Open the proposed code in an editable document; "Submit edit" sends it back. */
  async edit(itemId: number): Promise<void> {
    const item = this.items.get(itemId);
    if (!item) return;
    const document = await vscode.workspace.openTextDocument({ content: item.proposed_code, language: "python" });
    this.edits.set(document.uri.toString(), itemId);
    await vscode.window.showTextDocument(document);
    await this.updateEditContext();
    void vscode.window.showInformationMessage("Edit the code, then use “Submit edit” in the editor title.");
  }

  /** Send the edited code of the active "Edit" document; the backend validates it on the next run. */
  async submitEdit(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const itemId = editor ? this.edits.get(editor.document.uri.toString()) : undefined;
    if (!editor || itemId === undefined) {
      void vscode.window.showWarningMessage("The active editor is not an edit of a review item.");
      return;
    }
    await this.server.execute(ServerCommand.reviewEdit, { itemId, code: editor.document.getText() });
    this.edits.delete(editor.document.uri.toString());
    await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    await this.closed(itemId, "edited");
  }

  /** Keep the context key that shows "Submit edit" in the title of edit documents. */
  async updateEditContext(): Promise<void> {
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    await vscode.commands.executeCommand("setContext", "devmatrix.reviewEditActive", uri !== undefined && this.edits.has(uri));
  }

  private async closed(itemId: number, how: string): Promise<void> {
    for (const tab of vscode.window.tabGroups.all.flatMap((g) => g.tabs)) {
      if (tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.scheme === REVIEW_SCHEME && parseReviewPath(tab.input.modified.path)?.itemId === itemId) {
        await vscode.window.tabGroups.close(tab);
      }
    }
    void vscode.window.showInformationMessage(`Review ${itemId} ${how}.`);
    await this.reload();
  }
}
