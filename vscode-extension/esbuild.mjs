// Bundles the extension (Node, CommonJS, `vscode` external) and the chat webview script (browser).
// `--production` minifies and drops source maps; the .vsix ships no maps.
import * as esbuild from "esbuild";

const production = process.argv.includes("--production");

const common = {
  bundle: true,
  minify: production,
  sourcemap: production ? false : "linked",
  logLevel: "warning",
  legalComments: "none",
};

await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: ["src/extension.ts"],
    outfile: "dist/extension.js",
    platform: "node",
    target: "node18",
    format: "cjs",
    external: ["vscode"],
  }),
  esbuild.build({
    ...common,
    entryPoints: ["src/webview/chat.ts"],
    outfile: "dist/webview/chat.js",
    platform: "browser",
    target: "es2022",
    format: "iife",
  }),
]);
