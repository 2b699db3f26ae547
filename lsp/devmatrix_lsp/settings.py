"""What the editor tells the language server: `initializationOptions` or
`workspace/didChangeConfiguration` (`settings.devmatrix`, or the bare object)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

PROVIDERS = ("auto", "anthropic", "openai", "scripted")
KEYS = {
    "backendUrl": "backend_url",
    "token": "token",
    "dataDir": "data_dir",
    "provider": "provider",
    "model": "model",
    "budgetPerRunUsd": "budget_per_run_usd",
    "reviewThreshold": "review_threshold",
    "scriptedAnswers": "scripted_answers",
}


class SettingsError(ValueError):
    """A setting has the wrong type or value; the message names it."""


@dataclass(frozen=True)
class Settings:
    """The editor's DevMatrix settings; `None` means "not set"."""

    backend_url: str | None = None
    token: str | None = None
    data_dir: str | None = None
    provider: str | None = None
    model: str | None = None
    budget_per_run_usd: float | None = None
    review_threshold: float | None = None
    scripted_answers: str | None = None

    @classmethod
    def from_options(cls, options: Any) -> Settings:
        """Read the settings object; unknown keys are ignored, wrong types raise SettingsError."""
        if options is None:
            return cls()
        if not isinstance(options, dict):
            raise SettingsError("DevMatrix settings must be a JSON object.")
        url = _text(options, "backendUrl")
        provider = _text(options, "provider")
        if provider is not None and provider not in PROVIDERS:
            raise SettingsError(
                f"provider must be one of {', '.join(PROVIDERS)}, not {provider!r}."
            )
        threshold = _number(options, "reviewThreshold")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise SettingsError("reviewThreshold must be between 0 and 1.")
        return cls(
            backend_url=url.rstrip("/") if url else None,
            token=_text(options, "token"),
            data_dir=_text(options, "dataDir"),
            provider=provider,
            model=_text(options, "model"),
            budget_per_run_usd=_number(options, "budgetPerRunUsd"),
            review_threshold=threshold,
            scripted_answers=_text(options, "scriptedAnswers"),
        )

    def updated(self, settings: Any) -> Settings:
        """These settings with those of a didChangeConfiguration payload (under `devmatrix`, or
        bare) laid over them: only keys given with a value change anything, so an editor that
        sends `null` or `{}` (Eglot does, right after `initialized`) keeps what it initialized."""
        if isinstance(settings, dict) and isinstance(settings.get("devmatrix"), dict):
            settings = settings["devmatrix"]
        if not isinstance(settings, dict):
            return self
        given = {k: v for k, v in settings.items() if k in KEYS and v not in (None, "")}
        if not given:
            return self
        new = Settings.from_options(given)
        return replace(self, **{KEYS[k]: getattr(new, KEYS[k]) for k in given})

    def with_environment(self) -> Settings:
        """Backend URL and token from `DEVMATRIX_BACKEND_URL` / `DEVMATRIX_TOKEN` when the editor
        gave none (editors such as Helix and Sublime cannot put a variable into their options)."""
        url = self.backend_url or os.environ.get("DEVMATRIX_BACKEND_URL") or None
        token = self.token or os.environ.get("DEVMATRIX_TOKEN") or None
        return replace(self, backend_url=url.rstrip("/") if url else None, token=token)

    def data_folder(self, root: Path | None) -> Path:
        """Where the private backend keeps its data: `dataDir`, else `<root>/.devmatrix`, else
        (no workspace folder: a single file opened) the per-user data folder, never the cwd."""
        if self.data_dir:
            return Path(self.data_dir).expanduser().resolve()
        if root is not None:
            return (root / ".devmatrix").resolve()
        return Path(platformdirs.user_data_dir("devmatrix", appauthor=False)) / "editor"

    def private_env(self, root: Path | None, local_token: str) -> dict[str, str]:
        """The environment of a private backend started for these settings."""
        env = {
            "DEVMATRIX_DATA_DIR": str(self.data_folder(root)),
            "DEVMATRIX_LOCAL_TOKEN": local_token,
        }
        optional = {
            "DEVMATRIX_LLM_PROVIDER": self.provider,
            "DEVMATRIX_LLM_MODEL": self.model,
            "DEVMATRIX_BUDGET_PER_PLAN_USD": self.budget_per_run_usd,
            "DEVMATRIX_REVIEW_CONFIDENCE_THRESHOLD": self.review_threshold,
            "DEVMATRIX_SCRIPTED_ANSWERS": self.scripted_answers,
        }
        env.update({key: str(value) for key, value in optional.items() if value is not None})
        return env


def new_local_token() -> str:
    """A fresh random `dmx_` token for a private backend."""
    return "dmx_" + secrets.token_urlsafe(32)


def _text(options: dict[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SettingsError(f"{key} must be a string, not {type(value).__name__}.")
    return value


def _number(options: dict[str, Any], key: str) -> float | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{key} must be a number, not {type(value).__name__}.")
    return float(value)
