import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { EXTENSION_ROOT } from "../repo";

describe("module layering", () => {
  it("keeps `vscode` out of the modules under src/ (only src/vscode/ and extension.ts use it)", () => {
    const src = path.join(EXTENSION_ROOT, "src");
    const pure = readdirSync(src).filter((f) => f.endsWith(".ts") && f !== "extension.ts");
    assert.ok(pure.length >= 8, pure.join(", "));
    for (const file of pure) {
      const text = readFileSync(path.join(src, file), "utf8");
      assert.doesNotMatch(text, /from "vscode"|require\("vscode"\)|from "vscode-languageclient/, file);
    }
  });
});
