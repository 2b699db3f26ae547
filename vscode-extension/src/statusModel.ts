/**
 * The status bar item as plain data: backend state, run progress (atoms done / atoms) and cost so far.
 */
import type { RunStatus, StatusResult } from "./contract";

export type ClientState = "stopped" | "starting" | "running" | "failed";

export interface StatusBarView {
  text: string;
  tooltip: string;
  /** Theme colour id for the background, when the item needs attention. */
  background?: "statusBarItem.errorBackground" | "statusBarItem.warningBackground";
}

/** Dollars with enough digits for small runs. */
export function formatCost(usd: number): string {
  return usd < 1 ? `$${usd.toFixed(3)}` : `$${usd.toFixed(2)}`;
}

function runText(run: RunStatus): { text: string; icon: string } {
  const total = Number(run.summary?.total ?? 0);
  const done = Number(run.summary?.done ?? 0);
  const progress = total > 0 ? `${done}/${total} (${Math.floor((100 * done) / total)}%)` : run.status;
  const icon =
    run.status === "running" ? "$(sync~spin)" : run.status === "paused" ? "$(debug-pause)" : run.status === "failed" ? "$(error)" : "$(check)";
  const cost = typeof run.cost_usd === "number" ? ` · ${formatCost(run.cost_usd)}` : "";
  return { text: `${progress}${cost}`, icon };
}

/** Compose the status bar item from the client's state and the last `devmatrix.status` result. */
export function statusBarView(client: ClientState, status: StatusResult | undefined): StatusBarView {
  if (client === "failed") {
    return {
      text: "$(error) DevMatrix",
      tooltip: "The DevMatrix language server is not running. Click to see the output.",
      background: "statusBarItem.errorBackground",
    };
  }
  if (client !== "running" || status === undefined) {
    return { text: "$(loading~spin) DevMatrix", tooltip: "DevMatrix: starting the language server…" };
  }
  const backend = status.backend ?? "private local backend";
  if (status.state === "unreachable") {
    return {
      text: "$(debug-disconnect) DevMatrix",
      tooltip: `Backend unreachable: ${backend}${status.message ? `\n${status.message}` : ""}`,
      background: "statusBarItem.warningBackground",
    };
  }
  if (status.state === "starting") {
    return { text: "$(loading~spin) DevMatrix", tooltip: `Backend starting: ${backend}` };
  }
  const plan = status.planId ? `plan ${status.planId}` : "no active plan";
  if (status.run && status.run.status !== "idle") {
    const { text, icon } = runText(status.run);
    return {
      text: `${icon} DevMatrix ${text}`,
      tooltip: `Backend connected: ${backend}\n${plan}, run ${status.run.status}: ${text}`,
    };
  }
  return { text: "$(check) DevMatrix", tooltip: `Backend connected: ${backend}\n${plan}` };
}

/** Whether a run is in flight, so the status is worth polling. */
export function runActive(status: StatusResult | undefined): boolean {
  return status?.run?.status === "running";
}
