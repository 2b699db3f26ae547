/**
 * The Python extension's active interpreter, when that extension is installed. Its public API is
 * reached through `vscode.extensions` with the few members used here typed by hand: the
 * `@vscode/python-extension` package needs a newer VS Code and Node than this extension targets.
 */
import * as vscode from "vscode";

const PYTHON_EXTENSION_ID = "ms-python.python";

interface EnvironmentPath {
  id: string;
  path: string;
}

interface PythonExtensionApi {
  ready?: Promise<void>;
  environments: {
    getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath;
    resolveEnvironment(environment: EnvironmentPath | string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

async function api(): Promise<PythonExtensionApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
  if (extension === undefined) {
    return undefined;
  }
  const exports = extension.isActive ? extension.exports : await extension.activate();
  await exports?.ready;
  return exports?.environments ? exports : undefined;
}

/** The active interpreter's executable for `resource`, or undefined without the Python extension. */
export async function activeInterpreter(resource: vscode.Uri | undefined, log: (line: string) => void): Promise<string | undefined> {
  try {
    const python = await api();
    if (python === undefined) {
      return undefined;
    }
    const active = python.environments.getActiveEnvironmentPath(resource);
    const resolved = await python.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath ?? active.path;
  } catch (error) {
    log(`Python extension: could not read the active interpreter: ${String(error)}`);
    return undefined;
  }
}

/** Call `listener` when the Python extension's active interpreter changes (also once it gets installed). */
export function onInterpreterChange(listener: () => void): vscode.Disposable {
  const disposables: vscode.Disposable[] = [];
  let subscribed = false;
  const subscribe = async (): Promise<void> => {
    if (subscribed || vscode.extensions.getExtension(PYTHON_EXTENSION_ID) === undefined) {
      return;
    }
    subscribed = true;
    const python = await api().catch(() => undefined);
    if (python !== undefined) {
      disposables.push(python.environments.onDidChangeActiveEnvironmentPath(() => listener()));
    }
  };
  void subscribe();
  disposables.push(
    vscode.extensions.onDidChange(() => {
      if (!subscribed && vscode.extensions.getExtension(PYTHON_EXTENSION_ID) !== undefined) {
        void subscribe().then(listener);
      }
    }),
  );
  return vscode.Disposable.from(...disposables);
}

/** Whether the Python extension is installed (for offering its interpreter picker). */
export function hasPythonExtension(): boolean {
  return vscode.extensions.getExtension(PYTHON_EXTENSION_ID) !== undefined;
}
