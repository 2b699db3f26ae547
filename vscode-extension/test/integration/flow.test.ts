/**
 * The extension's integration test without VS Code: the real language server (this repository's
 * `python -m devmatrix_lsp`, scripted model, private backend in a temporary data dir) driven from
 * Node over stdio: plan -> approve -> run -> diagnostics -> code action -> review approved, and
 * the read commands and events the extension's views are built from (docs/editors/protocol.md).
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  CodeActionRequest,
  CodeActionResolveRequest,
  DiagnosticSeverity,
  type CodeAction,
  type Command,
  type Diagnostic,
} from "vscode-languageserver-protocol/node";
import { ServerCommand, type BackendEvent, type PlanResult, type PlanTreeResult, type ReviewListResult, type StatusResult } from "../../src/contract";
import { applyEvent, buildPlanTree, type PlanNode } from "../../src/planModel";
import { buildReviewNodes } from "../../src/reviewModel";
import { toInitializationOptions } from "../../src/settings";
import { statusBarView } from "../../src/statusModel";
import { REPO_ROOT, repoPython } from "../repo";
import { LspSession, processesUsing } from "./session";

const FIXTURES = path.join(REPO_ROOT, "tests", "fixtures", "execution");
const RUN_TIMEOUT_MS = 180_000;
/** With a review threshold of 1.0 the calc run sends mul (second answer, confidence 0.85) to review. */
const MUL = { file: "calc/mul.py", name: "mul", body: "total = add(total, a)" };
/** The commands of docs/editors/protocol.md, the views' read commands included. */
const SERVER_COMMANDS = Object.values(ServerCommand);

const python = repoPython();

function find(node: PlanNode, label: string): PlanNode | undefined {
  if (node.label === label) return node;
  for (const child of node.children) {
    const found = find(child, label);
    if (found) return found;
  }
  return undefined;
}

describe("devmatrix-lsp driven from Node: plan -> run -> diagnostics -> code action", { skip: python ? false : "no .venv in the repository (run make install)" }, () => {
  let session: LspSession;
  let workspace: string;
  let dataDir: string;
  let commands: string[] = [];
  let plan: PlanResult;
  let tree: PlanNode | undefined;
  let reviewDiagnostic: Diagnostic;

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "dmx-vscode-"));
    dataDir = path.join(workspace, ".data");
    copyFileSync(path.join(FIXTURES, "calc_spec.md"), path.join(workspace, "calc_spec.md"));
    session = new LspSession(python as string, workspace);
  });

  after(async () => {
    await session?.close();
    const left = processesUsing(dataDir);
    left.forEach((pid) => process.kill(pid, "SIGKILL"));
    assert.deepEqual(left, [], "the private backend outlived the language server");
  });

  it("initializes with the extension's settings mapping and advertises the contract's commands", async () => {
    const initializationOptions = toInitializationOptions(
      {
        "model.provider": "scripted",
        scriptedAnswers: path.join(FIXTURES, "calc_answers.json"),
        dataDir: ".data",
        "review.confidenceThreshold": 1.0,
      },
      undefined,
      workspace,
    );
    assert.equal(initializationOptions.dataDir, dataDir);
    const result = await session.initialize(initializationOptions);
    assert.equal(result.serverInfo?.name, "devmatrix-lsp");
    commands = result.capabilities.executeCommandProvider?.commands ?? [];
    assert.deepEqual(SERVER_COMMANDS.filter((c) => !commands.includes(c)), [], "commands not advertised");
  });

  it("reports the private backend connected (devmatrix.status, the status bar's source)", async () => {
    const status = await session.waitFor("devmatrix.status to say connected", 120_000, async () => {
      const s = await session.execute<StatusResult>(ServerCommand.status);
      return s.state === "connected" && s;
    });
    assert.match(status.backend ?? "", /^http:\/\/127\.0\.0\.1:\d+/);
  });

  it("plans the calc spec (devmatrix.plan.fromSpec) into a Markdown plan", async () => {
    plan = await session.execute<PlanResult>(ServerCommand.planFromSpec, { path: "calc_spec.md" });
    assert.equal(typeof plan.planId, "number");
    const markdown = readFileSync(fileURLToPath(plan.uri), "utf8");
    assert.match(markdown, /Addition/);
    assert.match(markdown, /Multiplication/);
  });

  it("gives the MasterPlan view its tree (devmatrix.plan.tree)", async () => {
    const result = await session.execute<PlanTreeResult>(ServerCommand.planTree, { planId: plan.planId });
    tree = buildPlanTree(result);
    const mul = find(tree, MUL.name);
    assert.ok(find(tree, "T1 Addition") && find(tree, "T2 Multiplication"), JSON.stringify(result));
    assert.equal(mul?.kind, "atom");
    assert.equal(typeof mul?.atom?.id, "number");
    assert.equal(mul?.status, "pending");
  });

  it("approves the plan", async () => {
    const approved = await session.execute<{ planId: number; status: string }>(ServerCommand.planApprove, {});
    assert.deepEqual(approved, { planId: plan.planId, status: "approved" });
  });

  it("runs it: mul ends with a review-needed warning carrying its confidence", async () => {
    await session.execute(ServerCommand.runStart, {});
    reviewDiagnostic = await session.waitFor(`a review-needed diagnostic on ${MUL.file}`, RUN_TIMEOUT_MS, () =>
      session.currentDiagnostics(MUL.file).find((d) => d.code === "review-needed"),
    );
    assert.equal(reviewDiagnostic.severity, DiagnosticSeverity.Warning);
    assert.match(reviewDiagnostic.message, /0\.85/);
    assert.deepEqual(session.seenDiagnostics("calc/ops.py"), [], "add passed first time");
  });

  it("reported the run as work-done progress with a percentage", () => {
    const values = session.progress.map((p) => p.value as { kind: string; percentage?: number });
    assert.ok(values.some((v) => v.kind === "begin"), `no work-done progress: ${JSON.stringify(values)}`);
    assert.ok(values.some((v) => typeof v.percentage === "number"), JSON.stringify(values));
  });

  it("lists the review item for the Review queue (devmatrix.review.list)", async () => {
    const result = await session.execute<ReviewListResult>(ServerCommand.reviewList, {});
    const nodes = buildReviewNodes(result.items);
    const mul = nodes.find((n) => n.label === MUL.name);
    assert.ok(mul, JSON.stringify(result));
    assert.equal(mul.description, `${MUL.file} · 85%`);
    const item = result.items.find((i) => i.id === mul.itemId);
    assert.match(item?.proposed_code ?? "", /total = add\(total, a\)/);
  });

  it("streams backend events (devmatrix/event) that move the tree's atoms", async () => {
    const events = session.notifications.filter((n) => n.method === "devmatrix/event").map((n) => n.params as BackendEvent);
    assert.ok(events.some((e) => e.type === "review_needed"), events.map((e) => e.type).join(", "));
    assert.ok(tree, "the plan tree step did not build a tree");
    for (const event of events) applyEvent(tree, plan.planId, event);
    assert.equal(find(tree, MUL.name)?.status, "review");
    assert.equal(find(tree, "add")?.status, "validated");
  });

  it("applies the atom into the file with the 'apply atom' code action", async () => {
    const uri = await session.open(MUL.file);
    const actions = (await session.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: reviewDiagnostic.range,
      context: { diagnostics: [reviewDiagnostic], triggerKind: 1 },
    })) as Array<CodeAction | Command>;
    const titles = actions.map((a) => a.title);
    for (const title of [`DevMatrix: apply atom ${MUL.name}`, `DevMatrix: approve review ${MUL.name}`, `DevMatrix: regenerate atom ${MUL.name}`]) {
      assert.ok(titles.includes(title), `${title} not in ${titles.join(" | ")}`);
    }
    let apply = actions.find((a) => a.title === `DevMatrix: apply atom ${MUL.name}`) as CodeAction;
    if (!apply.edit && apply.data !== undefined) {
      apply = await session.connection.sendRequest(CodeActionResolveRequest.type, apply);
    }
    if (apply.edit) session.applyWorkspaceEdit(apply.edit);
    if (apply.command) await session.execute(apply.command.command, (apply.command.arguments?.[0] as object) ?? {});
    const text = readFileSync(path.join(workspace, MUL.file), "utf8");
    assert.equal(text.split("def mul(a: int, b: int) -> int:").length - 1, 1, text);
    assert.ok(text.includes(MUL.body), text);
  });

  it("approves the review with its code action's command, and the warning clears", async () => {
    const uri = session.uri(MUL.file);
    // the warning moves onto the applied atom's lines once the server sees the new text
    const moved = await session.waitFor("the review-needed diagnostic on the applied atom", 30_000, () =>
      session.currentDiagnostics(MUL.file).find((d) => d.code === "review-needed" && JSON.stringify(d.range) !== JSON.stringify(reviewDiagnostic.range)),
    );
    const actions = (await session.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: moved.range,
      context: { diagnostics: [moved], triggerKind: 1 },
    })) as CodeAction[];
    const approve = actions.find((a) => a.title === `DevMatrix: approve review ${MUL.name}`);
    assert.equal(approve?.command?.command, ServerCommand.reviewApprove, JSON.stringify(actions, null, 1));
    const outcome = await session.execute<{ status: string }>(approve.command.command, approve.command.arguments?.[0] as object);
    assert.equal(outcome.status, "approved");
    await session.waitFor("the review-needed diagnostic to clear", 30_000, () => !session.currentDiagnostics(MUL.file).some((d) => d.code === "review-needed"));
  });

  it("reports the run's progress and cost for the status bar (devmatrix.status run)", async () => {
    const status = await session.execute<StatusResult>(ServerCommand.status);
    assert.equal(status.planId, plan.planId);
    assert.equal(typeof status.run?.cost_usd, "number", JSON.stringify(status.run));
    assert.ok(Number(status.run?.summary?.total) >= 4, JSON.stringify(status.run));
    assert.match(statusBarView("running", status).text, /^\$\(check\) DevMatrix \d+\/\d+ \(\d+%\) · \$\d/);
  });
});
