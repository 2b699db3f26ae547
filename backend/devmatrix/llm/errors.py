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


__all__ = [
    "LLMError",
    "MalformedAnswer",
    "ProviderCallFailed",
    "ProviderUnavailable",
    "ScriptedAnswerMissing",
]
