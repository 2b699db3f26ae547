import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Debounced } from "../../src/debounce";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Debounced", () => {
  it("collapses requests close together into one run with all their reasons", async () => {
    const runs: string[][] = [];
    const restart = new Debounced(async (reasons) => {
      runs.push(reasons);
    }, 20);
    await Promise.all([restart.trigger("command"), restart.trigger("settings"), restart.trigger("interpreter")]);
    assert.deepEqual(runs, [["command", "settings", "interpreter"]]);
  });

  it("never overlaps two runs", async () => {
    let active = 0;
    let maxActive = 0;
    const restart = new Debounced(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(30);
      active--;
    }, 5);
    const first = restart.trigger("a");
    await sleep(15); // the first run is now in progress
    await Promise.all([first, restart.trigger("b")]);
    assert.equal(maxActive, 1);
  });

  it("is busy from the request until its run ends", async () => {
    const restart = new Debounced(async () => {
      await sleep(20);
    }, 10);
    assert.equal(restart.busy, false);
    const done = restart.trigger("a");
    assert.equal(restart.busy, true);
    await sleep(15); // delay over, run under way
    assert.equal(restart.busy, true);
    await done;
    assert.equal(restart.busy, false);
  });

  it("keeps working after a run fails", async () => {
    let calls = 0;
    const restart = new Debounced(async () => {
      calls++;
      if (calls === 1) throw new Error("boom");
    }, 5);
    await restart.trigger("a");
    await restart.trigger("b");
    assert.equal(calls, 2);
  });

  it("resolves pending requests on cancel without running", async () => {
    let calls = 0;
    const restart = new Debounced(async () => {
      calls++;
    }, 50);
    const pending = restart.trigger("a");
    restart.cancel();
    await pending;
    await sleep(70);
    assert.equal(calls, 0);
  });
});
