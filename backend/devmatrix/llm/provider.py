"""The one interface every model provider implements: a single async call returning text + usage.

Besides `name`, a provider may declare capabilities as class attributes (`supports_streaming`,
`supports_json_schema`, `supports_prompt_cache`) and the model it uses by default as
`default_model`; `capabilities()` and `model_for()` read them with safe defaults so a minimal
test provider needs only `name` and `complete`.

A provider that can hand out its answer while it is being written also implements
`complete_streamed`, which passes each new piece of text to a callback as it arrives (the chat
shows answers growing); `streams_text()` tells whether a provider does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol, TypeGuard, runtime_checkable

from devmatrix.llm.types import LLMRequest, LLMResponse


@runtime_checkable
class Provider(Protocol):
    """A model provider: one async call from request to whole answer."""

    name: ClassVar[str]

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send one request and return the whole answer (streamed internally where supported)."""
        ...


TextSink = Callable[[str], None]
"""Receives successive pieces of an answer's text; joined they are the whole text."""


@runtime_checkable
class StreamingProvider(Provider, Protocol):
    """A provider that also hands out its answer's text piece by piece while it is written."""

    async def complete_streamed(self, request: LLMRequest, on_text: TextSink) -> LLMResponse:
        """Like `complete`, calling `on_text` with each new piece of the answer's text."""
        ...


def streams_text(provider: Provider) -> TypeGuard[StreamingProvider]:
    """True when `provider` implements `complete_streamed`."""
    return callable(getattr(provider, "complete_streamed", None))


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, read from its class attributes."""

    streaming: bool
    json_schema: bool
    prompt_cache: bool


def capabilities(provider: Provider) -> Capabilities:
    """The provider's declared capabilities; undeclared ones are taken as absent."""
    return Capabilities(
        streaming=bool(getattr(provider, "supports_streaming", False)),
        json_schema=bool(getattr(provider, "supports_json_schema", False)),
        prompt_cache=bool(getattr(provider, "supports_prompt_cache", False)),
    )


def model_for(provider: Provider, request: LLMRequest) -> str:
    """The model a request will run on: its own, else the provider's default."""
    return request.model or str(getattr(provider, "default_model", "") or "")
