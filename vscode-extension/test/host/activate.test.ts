/**
 * The shipped bundle (dist/extension.js) activated in Node against a fake `vscode` module and the
 * real language server: the restart path, the interpreter setting, the status bar, the extension's
 * plan/run commands, diagnostics through vscode-languageclient, and the notifications with a fix.
 */
import assert from "node:assert/strict";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { EXTENSION_ROOT, REPO_ROOT, repoPython } from "../repo";
import type { URI } from "vscode-uri";
import * as fake from "./fakeVscode";
import { deactivateLeavingNothing, extensionContext, loadBundle, restarts, statusItem, waitFor, type Extension } from "./harness";

const python = repoPython();
const LONG_ANSWER = Array.from({ length: 60 }, (_, n) => `Piece ${n} of a long answer that takes a while.`).join(" ");

/** The calc plan's answers, and a question's long answer (the scripted model streams it). */
function answersWithChat(workspace: string): string {
  const calc = JSON.parse(readFileSync(path.join(REPO_ROOT, "tests", "fixtures", "execution", "calc_answers.json"), "utf8"));
  const chat = [
    { purpose: "intent", contains: "long", answer: { intent: "question" } },
    { purpose: "chat", answer: LONG_ANSWER },
  ];
  const file = path.join(workspace, "answers.json");
  writeFileSync(file, JSON.stringify({ answers: [...chat, ...calc.answers] }));
  return file;
}

/** The assistant's text as the chat panel last posted it to its webview. */
function assistantPosts(panel: fake.FakeWebviewPanel): Array<{ html: string; streaming: boolean }> {
  return panel.posted
    .map((p) => (p as { message: { role: string; html: string; streaming: boolean } }).message)
    .filter((m) => m.role === "assistant");
}

describe("the bundled extension activated on a fake VS Code", { skip: python ? false : "no .venv in the repository (run make install)" }, () => {
  let extension: Extension;
  let workspace: string;
  let dataDir: string;
  const subscriptions: Array<{ dispose(): unknown }> = [];

  before(() => {
    workspace = mkdtempSync(path.join(tmpdir(), "dmx-vscode-host-"));
    dataDir = path.join(workspace, ".data");
    copyFileSync(path.join(REPO_ROOT, "tests", "fixtures", "execution", "calc_spec.md"), path.join(workspace, "calc_spec.md"));
    fake.host.workspaceFolders.push({ uri: fake.Uri.file(workspace), name: "workspace", index: 0 });
    for (const [key, value] of Object.entries({
      "devmatrix.interpreter": python,
      "devmatrix.model.provider": "scripted",
      "devmatrix.scriptedAnswers": answersWithChat(workspace),
      "devmatrix.trace.server": "messages", // vscode-languageclient's trace shows what it sends
      "devmatrix.dataDir": ".data",
      "devmatrix.review.confidenceThreshold": 1.0,
    })) {
      fake.host.settings.set(key, value);
    }
    extension = loadBundle();
  });

  after(() => deactivateLeavingNothing(extension, subscriptions, dataDir));

  it("starts the language server with the interpreter setting and registers every command", async () => {
    await extension.activate(extensionContext(subscriptions));
    assert.ok(fake.host.output.some((l) => l.includes(`Interpreter: ${python} (from setting)`)), fake.host.output.join("\n"));
    const manifest = JSON.parse(readFileSync(path.join(EXTENSION_ROOT, "package.json"), "utf8"));
    for (const { command } of manifest.contributes.commands as Array<{ command: string }>) {
      assert.ok(fake.host.commands.has(command), command);
    }
    // vscode-languageclient registers the server's own commands once the server initialized
    assert.ok(fake.host.commands.has("devmatrix.review.approve"), [...fake.host.commands.keys()].join(", "));
  });

  it("shows the private backend connected in the status bar", async () => {
    await waitFor("the status bar to say connected", 120_000, () => statusItem()?.tooltip.includes("Backend connected: http://127.0.0.1:"));
    assert.equal(statusItem()?.text, "$(check) DevMatrix");
  });

  it("plans, approves and runs through its commands; the review warning arrives as a VS Code diagnostic", async () => {
    await fake.commands.executeCommand("devmatrix.planFromFile", fake.Uri.file(path.join(workspace, "calc_spec.md")));
    assert.ok(fake.host.shownDocuments.some((u) => u.endsWith(".md")), JSON.stringify(fake.host.messages));
    await fake.commands.executeCommand("devmatrix.approvePlan");
    assert.ok(fake.host.messages.some((m) => /plan \d+ is approved/.test(m.message)), JSON.stringify(fake.host.messages));
    await fake.commands.executeCommand("devmatrix.startRun");
    const mul = fake.Uri.file(path.join(workspace, "calc", "mul.py")).toString();
    const warning = await waitFor("a review-needed diagnostic on calc/mul.py", 180_000, () =>
      fake.host.diagnostics.get(mul)?.find((d) => d.code === "review-needed"),
    );
    assert.equal(warning.severity, fake.DiagnosticSeverity.Warning);
    assert.equal(warning.source, "devmatrix");
    await waitFor("the status bar to show the run", 30_000, () => /DevMatrix \S/.test(statusItem()?.text ?? "") && statusItem()?.text !== "$(check) DevMatrix");
  });

  it("fills the MasterPlan view from devmatrix.plan.tree, updated by events", async () => {
    type Node = { label: string; status: string; children: Node[] };
    const provider = fake.host.treeViews.get("devmatrix.plan")?.treeDataProvider as { getChildren(node?: Node): Node[] };
    const find = (node: Node, label: string): Node | undefined =>
      node.label === label ? node : node.children.map((c) => find(c, label)).find(Boolean);
    const root = await waitFor("the plan in the MasterPlan view", 30_000, () => provider.getChildren()[0]);
    assert.equal(root.label, "calc");
    await waitFor("mul marked for review", 30_000, () => find(provider.getChildren()[0], "mul")?.status === "review");
    assert.equal(find(provider.getChildren()[0], "add")?.status, "validated");
  });

  it("lists the review item, shows it as a diff of current and proposed code, and approves it from the diff", async () => {
    const provider = fake.host.treeViews.get("devmatrix.review")?.treeDataProvider as {
      getChildren(): Array<{ label: string; itemId: number }>;
      getTreeItem(node: unknown): { command?: { command: string; arguments: unknown[] } };
    };
    const node = await waitFor("mul in the review queue", 30_000, () => provider.getChildren().find((n) => n.label === "mul"));
    const open = provider.getTreeItem(node).command;
    assert.equal(open?.command, "devmatrix.openReview");
    await fake.commands.executeCommand(open.command, ...open.arguments);
    const diff = fake.host.executed.filter((e) => e.command === "vscode.diff").at(-1);
    assert.ok(diff, JSON.stringify(fake.host.messages));
    const [left, right, title] = diff.args as [URI, URI, string];
    assert.equal(title, "Review mul: current ↔ proposed (85%)");
    const content = fake.host.contentProviders.get(right.scheme);
    assert.match(content?.provideTextDocumentContent(right) ?? "", /total = add\(total, a\)/);
    assert.doesNotMatch(content?.provideTextDocumentContent(left) ?? "", /total = add\(total, a\)/);

    fake.host.inputs.push("");
    await fake.commands.executeCommand("devmatrix.rejectReview", right);
    assert.match(fake.host.inputValidation.at(-1) ?? "", /Say what is wrong/, "an empty reason is refused");

    // the editor title's Approve gets the diff side's URI
    await fake.commands.executeCommand("devmatrix.approveReview", right);
    assert.ok(fake.host.messages.some((m) => m.message === `Review ${node.itemId} approved.`), JSON.stringify(fake.host.messages));
    const mul = fake.Uri.file(path.join(workspace, "calc", "mul.py")).toString();
    await waitFor("the review warning to clear", 30_000, () => !fake.host.diagnostics.get(mul)?.some((d) => d.code === "review-needed"));
    await waitFor("the review queue to empty", 30_000, () => provider.getChildren().length === 0);
  });

  it("stops reading a streamed answer when the chat panel is closed, and leaves the closed webview alone", async () => {
    const opened = fake.host.webviewPanels.length;
    await fake.commands.executeCommand("devmatrix.openChat");
    const panel = fake.host.webviewPanels[opened];
    assert.equal(panel.viewType, "devmatrix.chat");
    panel.receive({ type: "send", text: "a long one, please" });
    await waitFor("a piece of the answer in the panel", 60_000, () =>
      assistantPosts(panel).some((m) => m.streaming && m.html.includes("Piece 0")),
    );
    const seen = fake.host.output.length;
    panel.dispose(); // the person closes the panel while the answer streams
    await waitFor("$/cancelRequest sent to the server", 30_000, () =>
      fake.host.output.slice(seen).some((line) => line.includes("Sending notification '$/cancelRequest'")),
    );
    const posts = panel.posted.length;
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the answer would stream for seconds more
    assert.equal(panel.posted.length, posts, "the closed panel's webview was still written to");
    assert.ok(!assistantPosts(panel).some((m) => m.html.includes("Piece 59")), "the whole answer arrived before the close");
    const failures = fake.host.output.filter((line) => /disposed|Unhandled|failed with message/i.test(line));
    assert.deepEqual(failures, []);
    // The chat opens again, fresh.
    await fake.commands.executeCommand("devmatrix.openChat");
    assert.equal(fake.host.webviewPanels.length, opened + 2);
    fake.host.webviewPanels[opened + 1].dispose();
  });

  it("collapses restart requests that come together into one restart", async () => {
    const before = restarts().length;
    await Promise.all([
      fake.commands.executeCommand("devmatrix.restart"),
      fake.commands.executeCommand("devmatrix.restart"),
      (async () => fake.changeSettings({ "devmatrix.interpreter": python }))(),
    ]);
    await waitFor("the restarted server to be connected", 120_000, () => restarts().length > before && statusItem()?.text.startsWith("$(check)"));
    assert.equal(restarts().length, before + 1, restarts().join("\n"));
    assert.match(restarts().at(-1) ?? "", /restart command, settings changed/);
  });

  it("says which interpreter could not run, with a way to fix it", async () => {
    fake.host.messages.length = 0;
    fake.changeSettings({ "devmatrix.interpreter": "/nonexistent/python3" });
    const message = await waitFor("an error notification", 30_000, () => fake.host.messages.find((m) => m.level === "error"));
    assert.match(message.message, /could not run the Python interpreter "\/nonexistent\/python3"/);
    assert.ok(message.actions.includes("Open settings"), message.actions.join(", "));
    assert.equal(statusItem()?.text, "$(error) DevMatrix");
  });

  it("says how to install devmatrix-lsp when the interpreter lacks it, and opens the settings on request", async () => {
    fake.host.messages.length = 0;
    fake.host.answers.set("not installed", "Open settings");
    const bare = path.join(workspace, "bare-python");
    writeFileSync(bare, `#!/bin/sh\nexec "${python}" -I -S "$@"\n`);
    chmodSync(bare, 0o755);
    fake.changeSettings({ "devmatrix.interpreter": bare });
    const message = await waitFor("an error notification", 30_000, () => fake.host.messages.find((m) => m.level === "error"));
    assert.match(message.message, /not installed.*pip install 'devmatrix\[all\]'/);
    assert.deepEqual(message.actions, ["Copy install command", "Open settings"]);
    await waitFor("the settings to open", 5_000, () => fake.host.executed.some((e) => e.command === "workbench.action.openSettings"));
  });

  it("reports a wrong setting instead of sending it", async () => {
    fake.host.messages.length = 0;
    fake.changeSettings({ "devmatrix.interpreter": python, "devmatrix.backendUrl": "devmatrix.example.com" });
    const message = await waitFor("an error notification", 30_000, () => fake.host.messages.find((m) => m.level === "error"));
    assert.match(message.message, /devmatrix\.backendUrl "devmatrix\.example\.com" is not a URL/);
    fake.changeSettings({ "devmatrix.backendUrl": "" });
    await waitFor("the server to come back", 120_000, () => statusItem()?.text.startsWith("$(check)"));
  });

  it("runs the walkthrough's offline demo: scripted answers in the workspace settings, a plan of the taskboard spec", async () => {
    const example = path.join(workspace, "examples", "taskboard");
    mkdirSync(example, { recursive: true });
    for (const file of ["spec.md", "answers.json"]) copyFileSync(path.join(REPO_ROOT, "examples", "taskboard", file), path.join(example, file));
    fake.host.messages.length = 0;
    const shown = fake.host.shownDocuments.length;
    await fake.commands.executeCommand("devmatrix.startDemo");
    assert.equal(fake.host.settings.get("devmatrix.model.provider"), "scripted");
    assert.equal(fake.host.settings.get("devmatrix.scriptedAnswers"), path.join(example, "answers.json"));
    const ready = fake.host.messages.find((m) => /DevMatrix demo: plan \d+ is ready/.test(m.message));
    assert.ok(ready, JSON.stringify(fake.host.messages));
    assert.deepEqual(ready.actions, ["Approve plan"]);
    assert.ok(fake.host.shownDocuments.slice(shown).some((u) => u.endsWith(".md")));
  });
});
