/**
 * Checks the packaged .vsix (built by `npm run package` before this runs): what it contains, what
 * it must not contain, and its size.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as yauzl from "yauzl";
import { EXTENSION_ROOT } from "../repo";

const VSIX = path.join(EXTENSION_ROOT, "devmatrix.vsix");
const MAX_BYTES = 1024 * 1024;

function readZip(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error);
      const entries = new Map<string, Buffer>();
      zip.on("entry", (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return reject(err);
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on("end", () => resolve(entries));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}

describe("devmatrix.vsix", () => {
  let entries: Map<string, Buffer>;
  let names: string[];

  before(async () => {
    assert.ok(existsSync(VSIX), `${VSIX} is missing: run \`npm run package\` first`);
    entries = await readZip(VSIX);
    names = [...entries.keys()];
  });

  it(`is smaller than ${MAX_BYTES / 1024} KiB`, () => {
    const size = statSync(VSIX).size;
    console.log(`devmatrix.vsix: ${size} bytes, ${names.length} files`);
    assert.ok(size < MAX_BYTES, `${size} bytes`);
  });

  it("holds the manifest, the bundle, the webview script and the walkthrough", () => {
    for (const required of [
      "extension.vsixmanifest",
      "extension/package.json",
      "extension/readme.md",
      "extension/dist/extension.js",
      "extension/dist/webview/chat.js",
      "extension/media/chat.css",
      "extension/media/devmatrix.svg",
    ]) {
      assert.ok(names.includes(required), `${required} not in ${names.join(", ")}`);
    }
  });

  it("holds no sources, tests, source maps, build files or node_modules", () => {
    const forbidden = /(^|\/)(node_modules|src|test|out)\/|\.ts$|\.map$|tsconfig.*\.json$|esbuild\.mjs$|package-lock\.json$|\.vsix$/;
    const bad = names.filter((n) => forbidden.test(n.replace(/^extension\//, "")));
    assert.deepEqual(bad, []);
    assert.doesNotMatch(entries.get("extension/dist/extension.js")!.toString("utf8"), /sourceMappingURL/);
  });

  it("has every file the manifest points to", () => {
    const manifest = JSON.parse(entries.get("extension/package.json")!.toString("utf8"));
    const referenced: string[] = [manifest.main];
    for (const container of manifest.contributes.viewsContainers.activitybar) referenced.push(container.icon);
    for (const walkthrough of manifest.contributes.walkthroughs) {
      for (const step of walkthrough.steps) referenced.push(step.media.markdown ?? step.media.image);
    }
    for (const file of referenced) {
      const entry = `extension/${path.posix.normalize(file)}`;
      assert.ok(names.includes(entry), `${file} is referenced by package.json but not packaged`);
    }
  });

  it("bundles every dependency: the extension requires only Node built-ins and vscode", () => {
    const bundle = entries.get("extension/dist/extension.js")!.toString("utf8");
    const required = new Set([...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
    const allowed = new Set(["vscode", ...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    assert.deepEqual([...required].filter((r) => !allowed.has(r)), []);
  });

  it("loads nothing remote in the webview", () => {
    for (const asset of ["extension/dist/webview/chat.js", "extension/media/chat.css"]) {
      assert.doesNotMatch(entries.get(asset)!.toString("utf8"), /https?:\/\/|@import|url\(/, asset);
    }
  });

  it("matches the source manifest's version and engine", () => {
    const packaged = JSON.parse(entries.get("extension/package.json")!.toString("utf8"));
    const source = JSON.parse(readFileSync(path.join(EXTENSION_ROOT, "package.json"), "utf8"));
    assert.equal(packaged.version, source.version);
    assert.equal(packaged.engines.vscode, source.engines.vscode);
    assert.equal(source.devDependencies["@types/vscode"], source.engines.vscode.replace(/^\^/, ""));
  });
});
