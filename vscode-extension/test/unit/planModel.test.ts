import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PlanTreeResult } from "../../src/contract";
import { applyEvent, atomStatus, buildPlanTree, rollUp, statusIcon, type PlanNode } from "../../src/planModel";

function calcPlan(): PlanTreeResult {
  const atom = (id: number, file: string, name: string, status: string) => ({
    id,
    key: `${file}::${name}`,
    file,
    qualified_name: name,
    kind: "function",
    status,
    intent: `${name} it`,
    confidence: null,
  });
  return {
    planId: 4,
    title: "calc",
    status: "approved",
    phases: [
      {
        name: "Core",
        milestones: [
          {
            name: "Arithmetic",
            tasks: [
              { code: "T1", title: "Addition", atoms: [atom(1, "calc/ops.py", "add", "validated"), atom(2, "tests/test_ops.py", "test_add", "pending")] },
              { code: "T2", title: "Multiplication", atoms: [atom(3, "calc/mul.py", "mul", "pending")] },
            ],
          },
        ],
      },
      { name: "Polish", milestones: [] },
    ],
  };
}

function find(node: PlanNode, label: string): PlanNode {
  if (node.label === label) return node;
  for (const child of node.children) {
    try {
      return find(child, label);
    } catch {
      // not in this branch
    }
  }
  throw new Error(`no node ${label}`);
}

describe("buildPlanTree", () => {
  it("nests plan -> phases -> milestones -> tasks -> atoms with stable ids", () => {
    const root = buildPlanTree(calcPlan());
    assert.equal(root.kind, "plan");
    assert.deepEqual(root.children.map((p) => p.label), ["Core", "Polish"]);
    const milestone = root.children[0].children[0];
    assert.equal(milestone.kind, "milestone");
    assert.deepEqual(milestone.children.map((t) => t.label), ["T1 Addition", "T2 Multiplication"]);
    const add = milestone.children[0].children[0];
    assert.equal(add.kind, "atom");
    assert.equal(add.id, "plan/4/atom/calc/ops.py::add");
    assert.equal(add.atom?.id, 1);
    assert.match(add.description, /calc\/ops\.py/);
  });

  it("counts done atoms per group and rolls statuses up", () => {
    const root = buildPlanTree(calcPlan());
    const t1 = find(root, "T1 Addition");
    assert.equal(t1.description, "1/2");
    assert.equal(t1.status, "pending");
    assert.match(root.description, /plan 4 · approved · 1\/3/);
    assert.equal(find(root, "Polish").description, "no atoms yet");
  });
});

describe("rollUp", () => {
  it("shows a failure first, then review, then running", () => {
    assert.equal(rollUp(["validated", "review", "failed"]), "failed");
    assert.equal(rollUp(["validated", "review", "running"]), "review");
    assert.equal(rollUp(["validated", "running", "pending"]), "running");
  });

  it("is done only when every child is done", () => {
    assert.equal(rollUp(["validated", "approved"]), "validated");
    assert.equal(rollUp(["approved", "approved"]), "approved");
    assert.equal(rollUp(["validated", "pending"]), "pending");
    assert.equal(rollUp([]), "pending");
  });
});

describe("atomStatus and icons", () => {
  it("reads unknown backend statuses as pending", () => {
    assert.equal(atomStatus("blocked"), "pending");
    assert.equal(atomStatus("review"), "review");
  });

  it("gives each status a distinct icon", () => {
    const statuses = ["pending", "running", "validated", "approved", "review", "failed", "cancelled"] as const;
    const icons = new Set(statuses.map((s) => statusIcon(s).codicon));
    assert.equal(icons.size, statuses.length);
    assert.equal(statusIcon("failed").color, "testing.iconFailed");
  });
});

describe("applyEvent", () => {
  it("marks an atom running then failed, with the error in its tooltip, and updates its ancestors", () => {
    const root = buildPlanTree(calcPlan());
    const started = applyEvent(root, 4, { type: "atom_started", plan_id: 4, payload: { atom: "calc/mul.py::mul" } });
    assert.equal(started.kind, "changed");
    assert.equal(find(root, "mul").status, "running");
    assert.equal(find(root, "T2 Multiplication").status, "running");
    assert.equal(find(root, "Core").status, "running");

    applyEvent(root, 4, { type: "atom_failed", plan_id: 4, payload: { atom: "calc/mul.py::mul", error: "L1-undefined-name: x" } });
    const mul = find(root, "mul");
    assert.equal(mul.status, "failed");
    assert.match(mul.tooltip, /last error: L1-undefined-name: x/);
    assert.equal(find(root, "calc").status, "failed");
  });

  it("counts a validated atom in every ancestor's progress", () => {
    const root = buildPlanTree(calcPlan());
    const outcome = applyEvent(root, 4, { type: "atom_validated", plan_id: 4, payload: { atom: "tests/test_ops.py::test_add" } });
    assert.equal(outcome.kind, "changed");
    if (outcome.kind === "changed") assert.deepEqual(outcome.nodes.map((n) => n.kind), ["plan", "phase", "milestone", "task", "atom"]);
    assert.equal(find(root, "T1 Addition").status, "validated");
    assert.equal(find(root, "T1 Addition").description, "2/2");
    assert.match(root.description, /plan 4 · approved · 2\/3$/);
  });

  it("marks review-needed atoms with their confidence", () => {
    const root = buildPlanTree(calcPlan());
    applyEvent(root, 4, { type: "review_needed", plan_id: 4, payload: { atom: "calc/mul.py::mul", review_id: 9, confidence: 0.55 } });
    assert.equal(find(root, "mul").status, "review");
    assert.match(find(root, "mul").description, /confidence 55%/);
  });

  it("asks for a reload when the plan's shape may have changed", () => {
    const root = buildPlanTree(calcPlan());
    for (const type of ["plan_updated", "atoms_created", "review_resolved", "run_finished"]) {
      assert.deepEqual(applyEvent(root, 4, { type, plan_id: 4 }), { kind: "reload" });
    }
    assert.deepEqual(applyEvent(root, 4, { type: "atom_validated", plan_id: 4, payload: { atom: "new.py::x" } }), { kind: "reload" });
  });

  it("ignores other plans' events and events it has no use for", () => {
    const root = buildPlanTree(calcPlan());
    assert.deepEqual(applyEvent(root, 4, { type: "atom_validated", plan_id: 5, payload: { atom: "calc/ops.py::add" } }), { kind: "ignored" });
    assert.deepEqual(applyEvent(root, 4, { type: "run_progress", plan_id: 4, payload: { done: 1 } }), { kind: "ignored" });
  });
});
