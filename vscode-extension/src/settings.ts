/**
 * Extension settings -> the language server's initializationOptions (docs/editors/protocol.md "Settings"),
 * and which setting changes need a restart versus a didChangeConfiguration notification.
 * Pure: the caller reads VS Code's configuration and SecretStorage and passes plain values in.
 */
import * as path from "node:path";

export const PROVIDERS = ["auto", "anthropic", "openai", "scripted"] as const;
export type Provider = (typeof PROVIDERS)[number];

/** The `devmatrix.*` settings as read from the workspace configuration (any may be missing). */
export interface RawSettings {
  interpreter?: unknown;
  backendUrl?: unknown;
  dataDir?: unknown;
  scriptedAnswers?: unknown;
  "model.provider"?: unknown;
  "model.name"?: unknown;
  budgetPerRunUsd?: unknown;
  "review.confidenceThreshold"?: unknown;
}

/** The object the contract defines; every key is present, unset ones are null. */
export interface InitializationOptions {
  backendUrl: string | null;
  token: string | null;
  dataDir: string | null;
  provider: Provider | null;
  model: string | null;
  budgetPerRunUsd: number | null;
  reviewThreshold: number | null;
  scriptedAnswers: string | null;
}

/** A setting the user got wrong, said so that they can fix it. */
export class SettingsError extends Error {}

function text(value: unknown): string | null {
  if (typeof value !== "string") {
    return null;
  }
  const trimmed = value.trim();
  return trimmed === "" ? null : trimmed;
}

function absolute(value: unknown, workspaceRoot: string | undefined): string | null {
  const given = text(value);
  if (given === null || path.isAbsolute(given) || workspaceRoot === undefined) {
    return given;
  }
  return path.join(workspaceRoot, given);
}

function backendUrl(value: unknown): string | null {
  const given = text(value);
  if (given === null) {
    return null;
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new SettingsError(
      `devmatrix.backendUrl "${given}" is not a URL; use e.g. https://devmatrix.example.com, or leave it empty for a private local backend.`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SettingsError(`devmatrix.backendUrl must start with http:// or https://, got "${given}".`);
  }
  return given.replace(/\/+$/, "");
}

function numberIn(value: unknown, name: string, min: number, max: number): number | null {
  if (value === null || value === undefined || value === "") {
    return null;
  }
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new SettingsError(`devmatrix.${name} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}.`);
  }
  return value;
}

function provider(value: unknown): Provider | null {
  const given = text(value);
  if (given === null) {
    return null;
  }
  if (!(PROVIDERS as readonly string[]).includes(given)) {
    throw new SettingsError(`devmatrix.model.provider must be one of ${PROVIDERS.join(", ")}, got "${given}".`);
  }
  return given as Provider;
}

/** Map settings plus the secret token to initializationOptions; relative paths are taken from the workspace root. */
export function toInitializationOptions(
  raw: RawSettings,
  token: string | undefined,
  workspaceRoot: string | undefined,
): InitializationOptions {
  return {
    backendUrl: backendUrl(raw.backendUrl),
    token: text(token),
    dataDir: absolute(raw.dataDir, workspaceRoot),
    provider: provider(raw["model.provider"]),
    model: text(raw["model.name"]),
    budgetPerRunUsd: numberIn(raw.budgetPerRunUsd, "budgetPerRunUsd", 0, 1_000_000),
    reviewThreshold: numberIn(raw["review.confidenceThreshold"], "review.confidenceThreshold", 0, 1),
    scriptedAnswers: absolute(raw.scriptedAnswers, workspaceRoot),
  };
}

/** The workspace/didChangeConfiguration params for new options (contract: under `settings.devmatrix`). */
export function configurationParams(options: InitializationOptions): { settings: { devmatrix: InitializationOptions } } {
  return { settings: { devmatrix: options } };
}

/** What a configuration change asks of the client: restart the server, tell it, or nothing. */
export type ChangeAction = "restart" | "notify" | "none";

/** Settings read only when the server process starts; every other devmatrix setting is sent live. */
const RESTART_SETTINGS = ["devmatrix.interpreter", "devmatrix.trace.server"];

/** Decide from `affects(section)` (ConfigurationChangeEvent.affectsConfiguration) what to do. */
export function changeAction(affects: (section: string) => boolean): ChangeAction {
  if (RESTART_SETTINGS.some((s) => affects(s))) {
    return "restart";
  }
  return affects("devmatrix") ? "notify" : "none";
}
