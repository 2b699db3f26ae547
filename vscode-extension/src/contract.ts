/**
 * The language server's side of the conversation, as types: command names and the JSON shapes of
 * their results (docs/editors/protocol.md, with the read commands for editor views).
 * No `vscode` import, so view models and tests can use these types in plain Node.
 */

export const ServerCommand = {
  status: "devmatrix.status",
  chat: "devmatrix.chat",
  planFromFile: "devmatrix.plan.fromFile",
  planFromSelection: "devmatrix.plan.fromSelection",
  planFromSpec: "devmatrix.plan.fromSpec",
  planShow: "devmatrix.plan.show",
  planApprove: "devmatrix.plan.approve",
  planTree: "devmatrix.plan.tree",
  runStart: "devmatrix.run.start",
  runPause: "devmatrix.run.pause",
  runResume: "devmatrix.run.resume",
  runCancel: "devmatrix.run.cancel",
  reviewList: "devmatrix.review.list",
  reviewApprove: "devmatrix.review.approve",
  reviewReject: "devmatrix.review.reject",
  reviewEdit: "devmatrix.review.edit",
  atomApply: "devmatrix.atom.apply",
  atomRegenerate: "devmatrix.atom.regenerate",
} as const;
export type ServerCommandName = (typeof ServerCommand)[keyof typeof ServerCommand];

/** The custom notification carrying one backend event (docs/editors/protocol.md). */
export const EVENT_NOTIFICATION = "devmatrix/event";

export type BackendState = "connected" | "starting" | "unreachable";

/** A plan's latest run as the backend reports it (RunStatus). */
export interface RunStatus {
  plan_id: number;
  run_id?: number | null;
  status: string;
  started_at?: string | null;
  finished_at?: string | null;
  cost_usd?: number;
  summary?: { total?: number; done?: number; failed?: number; review?: number; [k: string]: unknown };
}

export interface StatusResult {
  backend: string | null;
  state: BackendState;
  message?: string;
  planId?: number | null;
  run?: RunStatus | null;
}

export interface PlanResult {
  planId: number;
  uri: string;
}

export interface ChatResult {
  conversationId: string | number;
  kind: "answer" | "plan";
  uri: string;
  planId?: number;
}

export interface AtomData {
  id?: number;
  key: string;
  file: string;
  qualified_name: string;
  kind: string;
  status: string;
  intent?: string;
  signature?: string;
  confidence?: number | null;
  last_error?: string | null;
  start_line?: number | null;
  end_line?: number | null;
}

export interface TaskData {
  code: string;
  title: string;
  description?: string;
  target_files?: string[];
  depends_on?: string[];
  atoms?: AtomData[];
}

export interface MilestoneData {
  name: string;
  tasks: TaskData[];
}

export interface PhaseData {
  name: string;
  milestones: MilestoneData[];
}

/** `devmatrix.plan.tree` result: the plan header and phases -> milestones -> tasks -> atoms. */
export interface PlanTreeResult {
  planId: number;
  title: string;
  status: string;
  version?: number;
  phases: PhaseData[];
  run?: RunStatus | null;
}

/** A review item (backend ReviewItemPublic) with the atom it is about. */
export interface ReviewItemData {
  id: number;
  plan_id: number;
  atom_id: number;
  status: string;
  reason: string;
  confidence: number;
  proposed_code: string;
  previous_code: string;
  diff?: string;
  validator_output?: string;
  atom?: { key: string; file: string; qualified_name: string } | null;
}

export interface ReviewListResult {
  items: ReviewItemData[];
}

/** One engine event as delivered by the backend's event stream. */
export interface BackendEvent {
  id?: number;
  type: string;
  plan_id?: number | null;
  payload?: Record<string, unknown>;
}
