import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatCost, runActive, statusBarView } from "../../src/statusModel";

describe("statusBarView", () => {
  it("shows run progress, percentage and cost while a run goes", () => {
    const view = statusBarView("running", {
      backend: "http://127.0.0.1:4321",
      state: "connected",
      planId: 4,
      run: { plan_id: 4, status: "running", cost_usd: 0.0132, summary: { total: 8, done: 3 } },
    });
    assert.equal(view.text, "$(sync~spin) DevMatrix 3/8 (37%) · $0.013");
    assert.match(view.tooltip, /Backend connected: http:\/\/127\.0\.0\.1:4321\nplan 4, run running/);
    assert.equal(view.background, undefined);
  });

  it("warns when the backend is unreachable, with the server's message", () => {
    const view = statusBarView("running", { backend: "https://dmx.example.com", state: "unreachable", message: "connection refused" });
    assert.equal(view.background, "statusBarItem.warningBackground");
    assert.match(view.tooltip, /unreachable: https:\/\/dmx\.example\.com\nconnection refused/);
  });

  it("calls a missing backend URL the private local backend", () => {
    assert.match(statusBarView("running", { backend: null, state: "connected" }).tooltip, /private local backend\nno active plan/);
  });

  it("shows an error when the language server is not running", () => {
    const view = statusBarView("failed", undefined);
    assert.equal(view.background, "statusBarItem.errorBackground");
    assert.equal(statusBarView("starting", undefined).text, "$(loading~spin) DevMatrix");
  });

  it("leaves out what the server does not report (no summary, no cost)", () => {
    const view = statusBarView("running", { backend: null, state: "connected", planId: 1, run: { plan_id: 1, status: "finished" } });
    assert.equal(view.text, "$(check) DevMatrix finished");
  });

  it("shows a finished run's totals", () => {
    const view = statusBarView("running", {
      backend: null,
      state: "connected",
      planId: 4,
      run: { plan_id: 4, status: "finished", cost_usd: 1.5, summary: { total: 4, done: 4 } },
    });
    assert.equal(view.text, "$(check) DevMatrix 4/4 (100%) · $1.50");
  });
});

describe("helpers of the status bar", () => {
  it("formats small and large costs", () => {
    assert.equal(formatCost(0), "$0.000");
    assert.equal(formatCost(12.345), "$12.35");
  });

  it("polls only while a run is running", () => {
    assert.equal(runActive({ backend: null, state: "connected", run: { plan_id: 1, status: "running" } }), true);
    assert.equal(runActive({ backend: null, state: "connected", run: { plan_id: 1, status: "paused" } }), false);
    assert.equal(runActive(undefined), false);
  });
});
