import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseInterpreter, SERVER_ARGS } from "../../src/interpreter";

describe("chooseInterpreter", () => {
  it("prefers the devmatrix.interpreter setting", () => {
    assert.deepEqual(chooseInterpreter(" /opt/py/bin/python ", "/venv/bin/python"), { command: "/opt/py/bin/python", source: "setting" });
  });

  it("falls back to the Python extension's active interpreter", () => {
    assert.deepEqual(chooseInterpreter("", "/venv/bin/python"), { command: "/venv/bin/python", source: "python-extension" });
  });

  it("falls back to python3 when neither is there", () => {
    const choice = chooseInterpreter(undefined, undefined);
    assert.equal(choice.source, "default");
    assert.equal(choice.command, process.platform === "win32" ? "python" : "python3");
  });

  it("runs the server as a module", () => {
    assert.deepEqual([...SERVER_ARGS], ["-m", "devmatrix_lsp"]);
  });
});
