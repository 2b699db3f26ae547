/**
 * What the host tests share: the shipped bundle loaded with `vscode` resolved to the fake, an
 * extension context with an in-memory SecretStorage, and waiting for a condition.
 */
import assert from "node:assert/strict";
import Module from "node:module";
import * as path from "node:path";
import { processesUsing } from "../integration/session";
import { EXTENSION_ROOT } from "../repo";
import * as fake from "./fakeVscode";

export const BUNDLE = path.join(EXTENSION_ROOT, "dist", "extension.js");

export type Extension = { activate(context: unknown): Promise<void>; deactivate(): Promise<void> };

/** dist/extension.js with `require("vscode")` answered by fakeVscode. */
export function loadBundle(): Extension {
  const loader = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
  const resolve = loader._resolveFilename;
  loader._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === "vscode" ? require.resolve("./fakeVscode") : resolve.call(this, request, ...rest);
  };
  return require(BUNDLE) as Extension;
}

/** An ExtensionContext for `activate`, its secrets kept in memory. */
export function extensionContext(subscriptions: Array<{ dispose(): unknown }>): unknown {
  const secrets = new Map<string, string>();
  const changed = new fake.EventEmitter<{ key: string }>();
  return {
    subscriptions,
    extensionUri: fake.Uri.file(EXTENSION_ROOT),
    extensionPath: EXTENSION_ROOT,
    secrets: {
      get: async (k: string) => secrets.get(k),
      store: async (k: string, v: string) => void (secrets.set(k, v), changed.fire({ key: k })),
      delete: async (k: string) => void (secrets.delete(k), changed.fire({ key: k })),
      onDidChange: changed.event,
    },
  };
}

/** Deactivate, dispose what activate registered, and fail if a process still uses `dataDir`
 * (the private backend must end with the extension); such leftovers are killed first. */
export async function deactivateLeavingNothing(
  extension: Extension | undefined,
  subscriptions: Array<{ dispose(): unknown }>,
  dataDir: string,
): Promise<void> {
  await extension?.deactivate();
  subscriptions.forEach((s) => s.dispose());
  const left = processesUsing(dataDir);
  left.forEach((pid) => process.kill(pid, "SIGKILL"));
  assert.deepEqual(left, [], "the private backend outlived deactivate()");
}

/** Poll `condition` every 100 ms until it gives a truthy value; fail with the recent output. */
export async function waitFor<T>(what: string, timeoutMs: number, condition: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}\n${fake.host.output.slice(-30).join("\n")}\n${JSON.stringify(fake.host.messages)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The status bar item of the extension. */
export const statusItem = () => fake.host.statusBarItems.find((i) => i.id === "devmatrix.status");

/** The output lines of every (re)start of the language server so far. */
export const restarts = () => fake.host.output.filter((l) => l.includes("(Re)starting the language server"));
