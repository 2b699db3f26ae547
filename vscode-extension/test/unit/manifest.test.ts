import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ServerCommand } from "../../src/contract";
import { EXTENSION_ROOT } from "../repo";

interface Manifest {
  engines: { vscode: string };
  devDependencies: Record<string, string>;
  contributes: {
    commands: Array<{ command: string }>;
    menus: Record<string, Array<{ command: string }>>;
    views: Record<string, Array<{ id: string }>>;
    viewsWelcome: Array<{ view: string; contents: string }>;
    walkthroughs: Array<{ steps: Array<{ description: string; media: { markdown?: string } }> }>;
    configuration: { properties: Record<string, unknown> };
  };
}

const manifest = JSON.parse(readFileSync(path.join(EXTENSION_ROOT, "package.json"), "utf8")) as Manifest;
const registered = new Set(
  [...readFileSync(path.join(EXTENSION_ROOT, "src", "vscode", "commands.ts"), "utf8").matchAll(/^\s+"(devmatrix\.[A-Za-z.]+)":/gm)].map((m) => m[1]),
);
const declared = new Set(manifest.contributes.commands.map((c) => c.command));
const viewIds = new Set(Object.values(manifest.contributes.views).flat().map((v) => v.id));
const builtIn = (id: string) => id.startsWith("workbench.") || id.endsWith(".focus");

function commandLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\(command:([A-Za-z.]+)/g)].map((m) => m[1]);
}

describe("package.json against the code", () => {
  it("declares every command the extension registers, and registers every command it declares", () => {
    assert.ok(registered.size >= 20, [...registered].join(", "));
    assert.deepEqual([...registered].filter((c) => !declared.has(c)), [], "registered but not declared");
    assert.deepEqual([...declared].filter((c) => !registered.has(c)), [], "declared but not registered");
  });

  it("never claims a server command id, which vscode-languageclient registers itself", () => {
    const server = new Set<string>(Object.values(ServerCommand));
    assert.deepEqual([...declared].filter((c) => server.has(c)), []);
  });

  it("points menus, welcome views and walkthrough links at declared commands and views", () => {
    for (const [menu, entries] of Object.entries(manifest.contributes.menus)) {
      for (const entry of entries) assert.ok(declared.has(entry.command), `${menu}: ${entry.command}`);
    }
    for (const welcome of manifest.contributes.viewsWelcome) {
      assert.ok(viewIds.has(welcome.view), welcome.view);
      for (const id of commandLinks(welcome.contents)) assert.ok(declared.has(id) || builtIn(id), id);
    }
    for (const step of manifest.contributes.walkthroughs.flatMap((w) => w.steps)) {
      for (const id of commandLinks(step.description)) {
        assert.ok(declared.has(id) || builtIn(id) || viewIds.has(id.replace(/\.focus$/, "")), id);
      }
      assert.ok(step.media.markdown && existsSync(path.join(EXTENSION_ROOT, step.media.markdown)), step.media.markdown);
    }
  });

  it("offers every setting the settings mapping reads", () => {
    const settings = readFileSync(path.join(EXTENSION_ROOT, "src", "vscode", "server.ts"), "utf8");
    const keys = [...settings.matchAll(/^\s+"([a-zA-Z.]+)",$/gm)].map((m) => `devmatrix.${m[1]}`);
    assert.ok(keys.length >= 7, keys.join(", "));
    for (const key of [...keys, "devmatrix.interpreter"]) assert.ok(key in manifest.contributes.configuration.properties, key);
  });

  it("pins @types/vscode to the lowest VS Code the engines range allows", () => {
    assert.equal(manifest.devDependencies["@types/vscode"], manifest.engines.vscode.replace(/^\^/, ""));
  });
});
