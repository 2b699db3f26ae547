"""Exceptions of the engine. Each carries a message for a person and, where there is one, a fix."""

from __future__ import annotations


class DevMatrixError(Exception):
    """Base of every error the engine raises on purpose; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(DevMatrixError):
    """A setting is missing, malformed or unsafe."""


class StorageError(DevMatrixError):
    """The database could not be reached, migrated or written."""


class NotFoundError(DevMatrixError):
    """A requested object does not exist (or is not visible to the caller)."""


class LLMError(DevMatrixError):
    """A model provider failed or answered something unusable."""


class ProviderUnavailable(LLMError):
    """No provider is configured or the configured one cannot be used."""


class BudgetExceeded(LLMError):
    """A call would spend more than the plan's or the user's budget allows."""
