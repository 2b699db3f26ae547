/**
 * The MasterPlan tree as plain data: phases -> milestones -> tasks -> atoms with a status, an icon
 * and a tooltip each; and how one backend event changes it. The TreeDataProvider only maps these
 * nodes onto TreeItems.
 */
import type { AtomData, BackendEvent, PlanTreeResult } from "./contract";

export type NodeKind = "plan" | "phase" | "milestone" | "task" | "atom";

/** Status of a node, atoms' straight from the backend, the others rolled up from their atoms. */
export type Status = "pending" | "running" | "validated" | "approved" | "review" | "failed" | "cancelled";

export interface PlanNode {
  id: string;
  kind: NodeKind;
  label: string;
  description: string;
  tooltip: string;
  status: Status;
  children: PlanNode[];
  /** Atom nodes only. */
  atom?: AtomData;
}

/** Codicon id and theme colour id for a status. */
export interface StatusIcon {
  codicon: string;
  color?: string;
}

const ICONS: Record<Status, StatusIcon> = {
  pending: { codicon: "circle-large-outline" },
  running: { codicon: "sync~spin", color: "charts.blue" },
  validated: { codicon: "pass", color: "testing.iconPassed" },
  approved: { codicon: "pass-filled", color: "testing.iconPassed" },
  review: { codicon: "eye", color: "list.warningForeground" },
  failed: { codicon: "error", color: "testing.iconFailed" },
  cancelled: { codicon: "circle-slash", color: "disabledForeground" },
};

/** The icon for a status. */
export function statusIcon(status: Status): StatusIcon {
  return ICONS[status];
}

/** Read a backend atom status; anything unknown counts as pending rather than breaking the view. */
export function atomStatus(raw: string): Status {
  switch (raw) {
    case "running":
    case "validated":
    case "approved":
    case "review":
    case "failed":
    case "cancelled":
      return raw;
    case "generating":
    case "validating":
      return "running";
    default:
      return "pending";
  }
}

/** Roll children up: any failure shows, then review, then running; done only when all are done. */
export function rollUp(statuses: Status[]): Status {
  if (statuses.length === 0) {
    return "pending";
  }
  for (const s of ["failed", "review", "running"] as const) {
    if (statuses.includes(s)) {
      return s;
    }
  }
  if (statuses.every((s) => s === "validated" || s === "approved")) {
    return statuses.every((s) => s === "approved") ? "approved" : "validated";
  }
  return statuses.every((s) => s === "cancelled") ? "cancelled" : "pending";
}

function doneCount(nodes: PlanNode[]): string {
  const atoms = nodes.flatMap(leaves);
  const done = atoms.filter((a) => a.status === "validated" || a.status === "approved").length;
  return atoms.length === 0 ? "no atoms yet" : `${done}/${atoms.length}`;
}

function leaves(node: PlanNode): PlanNode[] {
  return node.kind === "atom" ? [node] : node.children.flatMap(leaves);
}

function atomNode(planId: number, atom: AtomData): PlanNode {
  const status = atomStatus(atom.status);
  const confidence =
    typeof atom.confidence === "number" ? ` · confidence ${Math.round(atom.confidence * 100)}%` : "";
  const lines = [`${atom.key} (${atom.kind})`, `status: ${atom.status}${confidence}`];
  if (atom.intent) lines.push(atom.intent);
  if (atom.last_error) lines.push(`last error: ${atom.last_error}`);
  return {
    id: `plan/${planId}/atom/${atom.key}`,
    kind: "atom",
    label: atom.qualified_name,
    description: `${atom.file}${confidence}`,
    tooltip: lines.join("\n"),
    status,
    children: [],
    atom: { ...atom },
  };
}

function group(id: string, kind: NodeKind, label: string, children: PlanNode[], tooltip = label): PlanNode {
  return {
    id,
    kind,
    label,
    description: doneCount(children),
    tooltip,
    status: rollUp(children.map((c) => c.status)),
    children,
  };
}

/** Build the tree from a `devmatrix.plan.tree` result; the root is the plan itself. */
export function buildPlanTree(plan: PlanTreeResult): PlanNode {
  const phases = plan.phases.map((phase, p) => {
    const phaseId = `plan/${plan.planId}/phase/${p}`;
    const milestones = phase.milestones.map((milestone, m) => {
      const milestoneId = `${phaseId}/milestone/${m}`;
      const tasks = milestone.tasks.map((task) =>
        group(
          `plan/${plan.planId}/task/${task.code}`,
          "task",
          `${task.code} ${task.title}`,
          (task.atoms ?? []).map((a) => atomNode(plan.planId, a)),
          [task.description, (task.target_files ?? []).join(", ")].filter(Boolean).join("\n"),
        ),
      );
      return group(milestoneId, "milestone", milestone.name, tasks);
    });
    return group(phaseId, "phase", phase.name, milestones);
  });
  const root = group(`plan/${plan.planId}`, "plan", `${plan.title}`, phases);
  root.description = `plan ${plan.planId} · ${plan.status} · ${root.description}`;
  return root;
}

/** What applying an event did: changed nodes in place, needs a fresh read, or nothing. */
export type EventOutcome = { kind: "changed"; nodes: PlanNode[] } | { kind: "reload" } | { kind: "ignored" };

const ATOM_EVENTS: Record<string, Status> = {
  atom_started: "running",
  atom_validated: "validated",
  atom_failed: "failed",
  review_needed: "review",
};

const RELOAD_EVENTS = new Set([
  "plan_created",
  "plan_updated",
  "plan_approved",
  "atoms_created",
  "review_resolved",
  "run_finished",
]);

function findAtom(node: PlanNode, key: string, path: PlanNode[]): PlanNode[] | undefined {
  if (node.kind === "atom") {
    return node.atom?.key === key ? [...path, node] : undefined;
  }
  for (const child of node.children) {
    const found = findAtom(child, key, [...path, node]);
    if (found) return found;
  }
  return undefined;
}

/** Apply one event to the tree in place; returns the nodes whose rendering changed. */
export function applyEvent(root: PlanNode, planId: number, event: BackendEvent): EventOutcome {
  if (event.plan_id !== undefined && event.plan_id !== null && event.plan_id !== planId) {
    return { kind: "ignored" };
  }
  if (RELOAD_EVENTS.has(event.type)) {
    return { kind: "reload" };
  }
  const status = ATOM_EVENTS[event.type];
  const key = event.payload?.["atom"];
  if (status === undefined || typeof key !== "string") {
    return { kind: "ignored" };
  }
  const path = findAtom(root, key, []);
  if (path === undefined) {
    return { kind: "reload" };
  }
  const atom = path[path.length - 1];
  atom.status = status;
  if (atom.atom) {
    atom.atom.status = status;
    const error = event.payload?.["error"];
    if (status === "failed" && typeof error === "string") atom.atom.last_error = error;
    const confidence = event.payload?.["confidence"];
    if (typeof confidence === "number") atom.atom.confidence = confidence;
    Object.assign(atom, { ...atomNode(planId, atom.atom), status });
  }
  for (const ancestor of path.slice(0, -1).reverse()) {
    ancestor.status = rollUp(ancestor.children.map((c) => c.status));
    ancestor.description =
      ancestor.kind === "plan"
        ? ancestor.description.replace(/[^·]*$/, ` ${doneCount(ancestor.children)}`)
        : doneCount(ancestor.children);
  }
  return { kind: "changed", nodes: path };
}
