"""The one interface every model provider implements: a single async call returning text + usage.

Besides `name`, a provider may declare capabilities as class attributes (`supports_streaming`,
`supports_json_schema`, `supports_prompt_cache`) and the model it uses by default as
`default_model`; `capabilities()` and `model_for()` read them with safe defaults so a minimal
test provider needs only `name` and `complete`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from devmatrix.llm.types import LLMRequest, LLMResponse


@runtime_checkable
class Provider(Protocol):
    """A model provider: one async call from request to whole answer."""

    name: ClassVar[str]

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send one request and return the whole answer (streamed internally where supported)."""
        ...


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
