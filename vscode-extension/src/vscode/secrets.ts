/**
 * The backend token and model API keys, kept in VS Code's SecretStorage (never in settings files).
 * The token goes to the language server in initializationOptions; API keys go into the server
 * process's environment, from where the private backend inherits them.
 */
import * as vscode from "vscode";

export const TOKEN_KEY = "devmatrix.backendToken";

/** API keys the engine reads from its environment, with how to ask for them. */
export const API_KEYS = [
  { env: "ANTHROPIC_API_KEY", label: "Anthropic API key", placeHolder: "sk-ant-…" },
  { env: "OPENAI_API_KEY", label: "OpenAI (or compatible server) API key", placeHolder: "sk-…" },
] as const;

function apiKeySecret(env: string): string {
  return `devmatrix.apiKey.${env}`;
}

export class Secrets {
  constructor(private readonly storage: vscode.SecretStorage) {}

  /** The backend token, if one was set. */
  token(): Thenable<string | undefined> {
    return this.storage.get(TOKEN_KEY);
  }

  /** Environment variables for the stored API keys. */
  async apiKeyEnv(): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const key of API_KEYS) {
      const value = await this.storage.get(apiKeySecret(key.env));
      if (value) env[key.env] = value;
    }
    return env;
  }

  /** Fire `listener` with "token" or "apiKey" when either changes (in any window). */
  onDidChange(listener: (what: "token" | "apiKey") => void): vscode.Disposable {
    return this.storage.onDidChange((e) => {
      if (e.key === TOKEN_KEY) listener("token");
      else if (e.key.startsWith("devmatrix.apiKey.")) listener("apiKey");
    });
  }

  /** Ask for the backend token; an empty answer removes it. */
  async promptToken(): Promise<void> {
    const value = await vscode.window.showInputBox({
      title: "DevMatrix: backend token",
      prompt: "A personal access token of your team backend (dmx_…). Leave empty to remove the stored token.",
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v === "" || /^\S+$/.test(v) ? undefined : "A token has no spaces."),
    });
    if (value === undefined) return;
    if (value === "") {
      await this.storage.delete(TOKEN_KEY);
      void vscode.window.showInformationMessage("DevMatrix: backend token removed.");
    } else {
      await this.storage.store(TOKEN_KEY, value);
      void vscode.window.showInformationMessage("DevMatrix: backend token stored in VS Code's secret storage.");
    }
  }

  /** Ask which API key to set, then its value; an empty value removes it. */
  async promptApiKey(): Promise<void> {
    const pick = await vscode.window.showQuickPick(
      API_KEYS.map((k) => ({ label: k.label, description: k.env, key: k })),
      { title: "DevMatrix: set API key", placeHolder: "Which provider's key?" },
    );
    if (pick === undefined) return;
    const value = await vscode.window.showInputBox({
      title: `DevMatrix: ${pick.key.label}`,
      prompt: "Stored in VS Code's secret storage and given to the language server's environment. Leave empty to remove.",
      placeHolder: pick.key.placeHolder,
      password: true,
      ignoreFocusOut: true,
    });
    if (value === undefined) return;
    if (value === "") await this.storage.delete(apiKeySecret(pick.key.env));
    else await this.storage.store(apiKeySecret(pick.key.env), value);
  }
}
