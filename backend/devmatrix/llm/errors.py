"""Errors of the LLM layer, all `LLMError`s so callers can catch the family at once."""

from __future__ import annotations

from devmatrix.errors import LLMError, ProviderUnavailable


class ProviderCallFailed(LLMError):
    """A provider call failed after the SDK's retries; `transient` says whether trying later may help."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status_code: int | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message, hint)
        self.status_code = status_code
        self.transient = transient


class MalformedAnswer(LLMError):
    """The provider answered, but with a body that is not a valid answer."""


class ScriptedAnswerMissing(ProviderUnavailable):
    """The scripted provider has no (more) prepared answers for a request."""


def api_error_detail(body: object, fallback: str) -> str:
    """The server's own error message from an `{"error": {"message": ...}}` body, else `fallback`."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return fallback


__all__ = [
    "LLMError",
    "MalformedAnswer",
    "ProviderCallFailed",
    "ProviderUnavailable",
    "ScriptedAnswerMissing",
    "api_error_detail",
]
