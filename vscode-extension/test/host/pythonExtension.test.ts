/**
 * With the Python extension installed and no `devmatrix.interpreter` setting, the shipped bundle
 * starts the language server with that extension's active interpreter, and the person selecting
 * another interpreter restarts it once (one debounced restart) on the new one. The extension is a
 * fake of the Python extension's public API; the bundle, its code path and the server are real.
 * The interpreters are small wrappers around the repository's Python that log their runs.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { REPO_ROOT, repoPython } from "../repo";
import * as fake from "./fakeVscode";
import { deactivateLeavingNothing, extensionContext, loadBundle, restarts, statusItem, waitFor, type Extension } from "./harness";

const python = repoPython();

describe("the Python extension's active interpreter", { skip: python ? false : "no .venv in the repository (run make install)" }, () => {
  let extension: Extension;
  let workspace: string;
  let dataDir: string;
  let pythonExtension: fake.FakePythonExtension;
  const subscriptions: Array<{ dispose(): unknown }> = [];

  /** An executable that records its arguments in `<path>.log`, then runs the repository's Python. */
  function interpreter(name: string): string {
    const file = path.join(workspace, name);
    writeFileSync(file, `#!/bin/sh\necho "$*" >> "${file}.log"\nexec "${python}" "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  }
  const runs = (file: string): string[] => (existsSync(`${file}.log`) ? readFileSync(`${file}.log`, "utf8").trim().split("\n") : []);
  const connected = () => statusItem()?.tooltip.includes("Backend connected: http://127.0.0.1:");

  before(() => {
    workspace = mkdtempSync(path.join(tmpdir(), "dmx-vscode-pyext-"));
    dataDir = path.join(workspace, ".data");
    fake.host.workspaceFolders.push({ uri: fake.Uri.file(workspace), name: "workspace", index: 0 });
    for (const [key, value] of Object.entries({
      "devmatrix.interpreter": "",
      "devmatrix.model.provider": "scripted",
      "devmatrix.scriptedAnswers": path.join(REPO_ROOT, "tests", "fixtures", "execution", "calc_answers.json"),
      "devmatrix.dataDir": ".data",
    })) {
      fake.host.settings.set(key, value);
    }
    pythonExtension = new fake.FakePythonExtension(interpreter("venv-a-python"));
    fake.installExtension(pythonExtension);
    extension = loadBundle();
  });

  after(() => deactivateLeavingNothing(extension, subscriptions, dataDir));

  it("starts the language server with the Python extension's active interpreter", async () => {
    await extension.activate(extensionContext(subscriptions));
    const first = pythonExtension.interpreter;
    assert.ok(fake.host.output.some((l) => l.includes(`Interpreter: ${first} (from python-extension)`)), fake.host.output.join("\n"));
    assert.ok(pythonExtension.activations >= 1, "the Python extension was never activated");
    await waitFor("the private backend to be connected", 120_000, connected);
    assert.ok(runs(first).includes("-m devmatrix_lsp"), runs(first).join("\n"));
    assert.equal(restarts().length, 1);
  });

  it("restarts once on the newly selected interpreter when the person switches", async () => {
    const before = restarts().length;
    const second = interpreter("venv-b-python");
    // Selecting an interpreter can fire the event more than once; the restarts collapse.
    pythonExtension.select(second);
    pythonExtension.select(second);
    await waitFor("a restart on the new interpreter", 120_000, () =>
      restarts().length > before && fake.host.output.some((l) => l.includes(`Interpreter: ${second} (from python-extension)`)),
    );
    await waitFor("the restarted server to be connected", 120_000, () => statusItem()?.text.startsWith("$(check)") && connected());
    await new Promise((r) => setTimeout(r, 1_000)); // past the debounce: no second restart follows
    assert.equal(restarts().length, before + 1, restarts().join("\n"));
    assert.match(restarts().at(-1) ?? "", /Python interpreter changed$/);
    assert.ok(runs(second).includes("-m devmatrix_lsp"), runs(second).join("\n"));
  });

  it("keeps the devmatrix.interpreter setting above the Python extension's choice", async () => {
    const before = restarts().length;
    const chosen = interpreter("setting-python");
    fake.changeSettings({ "devmatrix.interpreter": chosen });
    await waitFor("a restart with the setting's interpreter", 120_000, () =>
      fake.host.output.some((l) => l.includes(`Interpreter: ${chosen} (from setting)`)),
    );
    await waitFor("the restarted server to be connected", 120_000, () => restarts().length > before && statusItem()?.text.startsWith("$(check)") && connected());
    assert.ok(runs(chosen).includes("-m devmatrix_lsp"), runs(chosen).join("\n"));
  });
});
