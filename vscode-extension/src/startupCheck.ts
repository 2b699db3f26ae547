/**
 * Before starting the language server, check that the interpreter runs and can import
 * `devmatrix_lsp`, so a broken setup becomes one clear notification with a fix instead of a
 * client that dies with a stack trace in the output channel.
 */
import { execFile } from "node:child_process";

export const INSTALL_COMMAND = "pip install 'devmatrix[all]'";

export type ProblemKind = "interpreter-missing" | "server-missing" | "python-too-old" | "server-broken";

export interface StartupProblem {
  kind: ProblemKind;
  /** For a person: what is wrong and how to fix it. */
  message: string;
  /** Raw output kept for the output channel. */
  detail: string;
}

/** What running `python -c <probe>` produced. */
export interface ProbeOutcome {
  spawnError?: NodeJS.ErrnoException;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

const PROBE = "import sys; assert sys.version_info >= (3, 11), sys.version; import devmatrix_lsp; print(devmatrix_lsp.__version__)";

/** Turn a probe's outcome into a problem (or null when the server can start). */
export function classifyProbe(python: string, outcome: ProbeOutcome): StartupProblem | null {
  const detail = [outcome.spawnError?.message, outcome.stderr.trim()].filter(Boolean).join("\n");
  if (outcome.spawnError !== undefined) {
    return {
      kind: "interpreter-missing",
      message: `DevMatrix could not run the Python interpreter "${python}" (${outcome.spawnError.code ?? outcome.spawnError.message}). Set devmatrix.interpreter to a Python 3.11+ executable, or select one with the Python extension.`,
      detail,
    };
  }
  if (outcome.exitCode === 0) {
    return null;
  }
  if (/AssertionError/.test(outcome.stderr)) {
    return {
      kind: "python-too-old",
      message: `DevMatrix needs Python 3.11 or newer; "${python}" is older. Set devmatrix.interpreter to a newer Python.`,
      detail,
    };
  }
  if (/No module named '?devmatrix_lsp/.test(outcome.stderr)) {
    return {
      kind: "server-missing",
      message: `The DevMatrix language server is not installed for "${python}". Install it with: ${INSTALL_COMMAND} — or set devmatrix.interpreter to a Python that has it.`,
      detail,
    };
  }
  return {
    kind: "server-broken",
    message: `The DevMatrix language server failed to load with "${python}" (exit ${outcome.exitCode}). See the DevMatrix output channel; reinstalling with ${INSTALL_COMMAND} usually fixes it.`,
    detail,
  };
}

/** Run the probe with a time limit; resolves to the problem found, or null. */
export function probeServer(python: string, timeoutMs = 20_000): Promise<StartupProblem | null> {
  return new Promise((resolve) => {
    execFile(python, ["-c", PROBE], { timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
      const spawnError =
        error !== null && typeof (error as NodeJS.ErrnoException).code === "string"
          ? (error as NodeJS.ErrnoException)
          : undefined;
      const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve(classifyProbe(python, { spawnError, exitCode, stdout: String(stdout), stderr: String(stderr) }));
    });
  });
}
