/**
 * Which Python starts the language server: the `devmatrix.interpreter` setting, else the Python
 * extension's active interpreter, else `python3` from PATH. Pure so the order is testable.
 */

export type InterpreterSource = "setting" | "python-extension" | "default";

export interface InterpreterChoice {
  command: string;
  source: InterpreterSource;
}

/** Pick the interpreter; `fromPythonExtension` is undefined when that extension is absent or has none. */
export function chooseInterpreter(setting: unknown, fromPythonExtension: string | undefined): InterpreterChoice {
  if (typeof setting === "string" && setting.trim() !== "") {
    return { command: setting.trim(), source: "setting" };
  }
  if (fromPythonExtension !== undefined && fromPythonExtension.trim() !== "") {
    return { command: fromPythonExtension, source: "python-extension" };
  }
  return { command: process.platform === "win32" ? "python" : "python3", source: "default" };
}

/** The arguments that run the server module with the chosen interpreter (contract: `python -m devmatrix_lsp`). */
export const SERVER_ARGS = ["-m", "devmatrix_lsp"] as const;
