import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { changeAction, configurationParams, SettingsError, toInitializationOptions } from "../../src/settings";

const ROOT = path.resolve("/work/space");

describe("toInitializationOptions", () => {
  it("maps every setting to the contract's key", () => {
    const options = toInitializationOptions(
      {
        backendUrl: "https://dmx.example.com/",
        dataDir: "/data/dmx",
        scriptedAnswers: "answers.json",
        "model.provider": "anthropic",
        "model.name": "claude-sonnet",
        budgetPerRunUsd: 2.5,
        "review.confidenceThreshold": 0.7,
      },
      "dmx_secret",
      ROOT,
    );
    assert.deepEqual(options, {
      backendUrl: "https://dmx.example.com",
      token: "dmx_secret",
      dataDir: "/data/dmx",
      provider: "anthropic",
      model: "claude-sonnet",
      budgetPerRunUsd: 2.5,
      reviewThreshold: 0.7,
      scriptedAnswers: path.join(ROOT, "answers.json"),
    });
  });

  it("sends null for every unset or blank setting, so the server uses its defaults", () => {
    const options = toInitializationOptions({ backendUrl: "  ", "model.name": "", budgetPerRunUsd: null }, undefined, ROOT);
    assert.deepEqual(options, {
      backendUrl: null,
      token: null,
      dataDir: null,
      provider: null,
      model: null,
      budgetPerRunUsd: null,
      reviewThreshold: null,
      scriptedAnswers: null,
    });
  });

  it("keeps the key set exactly as the contract lists it", () => {
    const keys = Object.keys(toInitializationOptions({}, undefined, undefined)).sort();
    assert.deepEqual(keys, ["backendUrl", "budgetPerRunUsd", "dataDir", "model", "provider", "reviewThreshold", "scriptedAnswers", "token"]);
  });

  it("resolves relative paths from the workspace root and leaves them alone without one", () => {
    assert.equal(toInitializationOptions({ dataDir: ".dmx" }, undefined, ROOT).dataDir, path.join(ROOT, ".dmx"));
    assert.equal(toInitializationOptions({ dataDir: ".dmx" }, undefined, undefined).dataDir, ".dmx");
  });

  it("refuses a backend URL that is not http(s), saying what to do", () => {
    assert.throws(() => toInitializationOptions({ backendUrl: "dmx.example.com" }, undefined, ROOT), (e: unknown) => {
      assert.ok(e instanceof SettingsError);
      assert.match(e.message, /not a URL.*leave it empty/);
      return true;
    });
    assert.throws(() => toInitializationOptions({ backendUrl: "ftp://x" }, undefined, ROOT), /http:\/\/ or https:\/\//);
  });

  it("refuses a threshold outside 0..1, a negative budget and an unknown provider", () => {
    assert.throws(() => toInitializationOptions({ "review.confidenceThreshold": 1.5 }, undefined, ROOT), /confidenceThreshold must be a number from 0 to 1/);
    assert.throws(() => toInitializationOptions({ budgetPerRunUsd: -1 }, undefined, ROOT), /budgetPerRunUsd/);
    assert.throws(() => toInitializationOptions({ "model.provider": "gemini" }, undefined, ROOT), /one of auto, anthropic, openai, scripted/);
  });

  it("wraps the same object under settings.devmatrix for didChangeConfiguration", () => {
    const options = toInitializationOptions({ "model.provider": "scripted" }, "t", ROOT);
    assert.deepEqual(configurationParams(options), { settings: { devmatrix: options } });
  });
});

describe("changeAction", () => {
  const affecting = (...sections: string[]) => (s: string) => sections.some((x) => x === s || x.startsWith(`${s}.`));

  it("restarts for the interpreter, which only a new process can take", () => {
    assert.equal(changeAction(affecting("devmatrix.interpreter")), "restart");
  });

  it("notifies a running server of every other devmatrix setting", () => {
    assert.equal(changeAction(affecting("devmatrix.backendUrl")), "notify");
    assert.equal(changeAction(affecting("devmatrix.review.confidenceThreshold")), "notify");
  });

  it("ignores other extensions' settings", () => {
    assert.equal(changeAction(affecting("python.defaultInterpreterPath")), "none");
  });
});
