import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { classifyProbe, INSTALL_COMMAND, probeServer } from "../../src/startupCheck";
import { repoPython } from "../repo";

describe("classifyProbe", () => {
  it("says how to install the server when the module is missing", () => {
    const problem = classifyProbe("/usr/bin/python3", {
      exitCode: 1,
      stdout: "",
      stderr: "Traceback...\nModuleNotFoundError: No module named 'devmatrix_lsp'\n",
    });
    assert.equal(problem?.kind, "server-missing");
    assert.ok(problem?.message.includes(INSTALL_COMMAND));
    assert.match(problem?.message ?? "", /devmatrix\.interpreter/);
  });

  it("names the interpreter that could not run", () => {
    const error = Object.assign(new Error("spawn /nope ENOENT"), { code: "ENOENT" });
    const problem = classifyProbe("/nope", { spawnError: error, exitCode: null, stdout: "", stderr: "" });
    assert.equal(problem?.kind, "interpreter-missing");
    assert.match(problem?.message ?? "", /"\/nope" \(ENOENT\)/);
  });

  it("accepts a clean exit", () => {
    assert.equal(classifyProbe("python3", { exitCode: 0, stdout: "0.1.0\n", stderr: "" }), null);
  });
});

describe("probeServer with real interpreters", () => {
  it("reports a missing interpreter", async () => {
    const problem = await probeServer(path.join(tmpdir(), "no-such-python"));
    assert.equal(problem?.kind, "interpreter-missing");
  });

  const python = repoPython();
  it("passes with the repository's Python", { skip: python ? false : "no .venv/bin/python in the repository" }, async () => {
    assert.equal(await probeServer(python as string), null);
  });

  it(
    "reports the server missing for a Python without site-packages",
    { skip: python && process.platform !== "win32" ? false : "needs the repository's .venv and a POSIX shell" },
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "dmx-probe-"));
      const bare = path.join(dir, "python");
      writeFileSync(bare, `#!/bin/sh\nexec "${python}" -I -S "$@"\n`);
      chmodSync(bare, 0o755);
      const problem = await probeServer(bare);
      assert.equal(problem?.kind, "server-missing", problem?.detail);
    },
  );
});
