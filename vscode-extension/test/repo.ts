/** Paths the tests share: the extension folder, the repository root and its Python. */
import { existsSync } from "node:fs";
import * as path from "node:path";

/** vscode-extension/ (this file runs as out/test/repo.js). */
export const EXTENSION_ROOT = path.resolve(__dirname, "..", "..");
/** The repository root, one level above the extension. */
export const REPO_ROOT = path.resolve(EXTENSION_ROOT, "..");

/** The repository's venv Python, or $DEVMATRIX_PYTHON; undefined when neither exists. */
export function repoPython(): string | undefined {
  const candidates = [
    process.env.DEVMATRIX_PYTHON,
    path.join(REPO_ROOT, ".venv", "bin", "python"),
    path.join(REPO_ROOT, ".venv", "Scripts", "python.exe"),
  ];
  return candidates.find((c): c is string => c !== undefined && c !== "" && existsSync(c));
}
