"""Anthropic through the official async SDK: streamed calls, prompt caching, JSON through a forced tool.

Retries on 429/529/5xx/timeouts are the SDK's own (`max_retries`), which honour `retry-after-ms`
and `retry-after`; we only turn what is left after them into clear `LLMError`s.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import anthropic
from anthropic.types import Message as AnthropicMessage

from devmatrix.config import Settings
from devmatrix.errors import LLMError, ProviderUnavailable
from devmatrix.llm.errors import MalformedAnswer, ProviderCallFailed, api_error_detail
from devmatrix.llm.provider import TextSink
from devmatrix.llm.types import LLMRequest, LLMResponse, Usage

DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_BASE_URL = "https://api.anthropic.com"
ANSWER_TOOL = "answer"
KEY_HINT = (
    "Set ANTHROPIC_API_KEY (or DEVMATRIX_ANTHROPIC_API_KEY) to a key from console.anthropic.com."
)


class AnthropicProvider:
    """Claude models through `anthropic.AsyncAnthropic`."""

    name: ClassVar[str] = "anthropic"
    supports_streaming: ClassVar[bool] = True
    supports_json_schema: ClassVar[bool] = True
    supports_prompt_cache: ClassVar[bool] = True

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        default_model: str | None = None,
        timeout_seconds: float = 120.0,
        max_retries: int = 4,
        stream: bool = True,
    ) -> None:
        self.stream = stream
        self.api_key = api_key
        self.default_model = default_model or DEFAULT_MODEL
        self.base_url = base_url or DEFAULT_BASE_URL
        self.max_retries = max_retries
        self.timeout_seconds = timeout_seconds
        # Explicit key and URL so the SDK never falls back to profile files on disk.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=self.base_url,
            timeout=timeout_seconds,
            max_retries=max_retries,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> AnthropicProvider:
        """Build from settings; without a key, say which variable to set."""
        if settings.anthropic_api_key is None or not settings.anthropic_api_key.get_secret_value():
            raise ProviderUnavailable("The Anthropic provider needs an API key.", KEY_HINT)
        return cls(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            default_model=settings.llm_model,
            timeout_seconds=settings.llm_timeout_seconds,
            max_retries=settings.llm_max_retries,
        )

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Make one Messages API call (streamed unless disabled) and assemble its text and usage."""
        return await self._call(request, None)

    async def complete_streamed(self, request: LLMRequest, on_text: TextSink) -> LLMResponse:
        """Like `complete`, passing each text delta to `on_text` as it arrives. A JSON answer
        (a forced tool call) and a call with streaming disabled give their text once, whole."""
        return await self._call(request, on_text)

    async def _call(self, request: LLMRequest, on_text: TextSink | None) -> LLMResponse:
        params = self._params(request)
        deltas = on_text if self.stream and request.json_schema is None else None
        try:
            if self.stream:
                async with self._client.messages.stream(**params) as stream:
                    if deltas is not None:
                        async for piece in stream.text_stream:
                            deltas(piece)
                    message = await stream.get_final_message()
            else:
                message = await self._client.messages.create(**params)
        except anthropic.APIError as exc:
            raise self._as_llm_error(exc) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MalformedAnswer(
                f"Anthropic at {self.base_url} sent a body that is not valid JSON: {exc}.",
                "Check that ANTHROPIC_BASE_URL points at the Messages API.",
            ) from exc
        answer = self._response(message, request)
        if on_text is not None and deltas is None:
            on_text(answer.text)
        return answer

    async def list_models(self, timeout_seconds: float = 5.0) -> list[str]:
        """The model ids the API offers: one quick request without retries (used by the doctor)."""
        quick = self._client.with_options(max_retries=0, timeout=timeout_seconds)
        try:
            return [model.id async for model in quick.models.list()]
        except anthropic.APIError as exc:
            raise self._as_llm_error(exc) from exc

    def _params(self, request: LLMRequest) -> dict[str, Any]:
        # The SDK 2.x Messages API no longer takes `temperature`; it stays part of the cache key only.
        params: dict[str, Any] = {
            "model": request.model or self.default_model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        if request.system:
            if request.cache_system:
                # The system prompt is the long shared context: cache it across calls.
                params["system"] = [
                    {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
                ]
            else:
                params["system"] = request.system
        if request.json_schema is not None:
            params["tools"] = [
                {
                    "name": ANSWER_TOOL,
                    "description": "Give your whole answer through this tool, as its input.",
                    "input_schema": _object_schema(request.json_schema),
                }
            ]
            params["tool_choice"] = {"type": "tool", "name": ANSWER_TOOL}
        return params

    def _response(self, message: AnthropicMessage, request: LLMRequest) -> LLMResponse:
        text = ""
        for block in message.content:
            if block.type == "text":
                text += block.text
            elif block.type == "tool_use" and request.json_schema is not None:
                text = json.dumps(_unwrap(request.json_schema, block.input))
        if request.json_schema is not None and not text:
            raise MalformedAnswer(
                f"Anthropic answered without the '{ANSWER_TOOL}' tool call a JSON answer needs "
                f"(stop reason {message.stop_reason})."
            )
        usage = message.usage
        return LLMResponse(
            text=text,
            usage=Usage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_input_tokens or 0,
                cache_write_tokens=usage.cache_creation_input_tokens or 0,
            ),
            model=message.model,
            provider=self.name,
            stop_reason=message.stop_reason,
        )

    def _as_llm_error(self, exc: anthropic.APIError) -> LLMError:
        where = f"Anthropic at {self.base_url}"
        retries = f"after {self.max_retries} retries"
        if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
            return ProviderUnavailable(
                f"{where} refused the API key: {api_error_detail(exc.body, exc.message)}.", KEY_HINT
            )
        if isinstance(exc, anthropic.RateLimitError):
            return ProviderCallFailed(
                f"{where} is still rate limiting (429) {retries}: {api_error_detail(exc.body, exc.message)}.",
                "Wait and retry, lower the concurrency, or raise DEVMATRIX_LLM_MAX_RETRIES.",
                status_code=429,
                transient=True,
            )
        if isinstance(exc, anthropic.APIStatusError) and exc.status_code >= 500:
            label = "overloaded" if exc.status_code == 529 else "failing"
            return ProviderCallFailed(
                f"{where} is {label} ({exc.status_code}) {retries}: {api_error_detail(exc.body, exc.message)}.",
                "Try again later or raise DEVMATRIX_LLM_MAX_RETRIES.",
                status_code=exc.status_code,
                transient=True,
            )
        if isinstance(exc, anthropic.APITimeoutError):
            return ProviderCallFailed(
                f"{where} gave no answer within {self.timeout_seconds:g}s {retries}.",
                "Raise DEVMATRIX_LLM_TIMEOUT_SECONDS or try again later.",
                transient=True,
            )
        if isinstance(exc, anthropic.APIConnectionError):
            return ProviderUnavailable(
                f"Cannot reach {where} {retries}: {exc}.",
                "Check the network and ANTHROPIC_BASE_URL.",
            )
        if isinstance(exc, anthropic.APIResponseValidationError):
            return MalformedAnswer(f"{where} answered with a malformed body: {exc}.")
        if isinstance(exc, anthropic.APIStatusError):
            return ProviderCallFailed(
                f"{where} rejected the request ({exc.status_code}): {api_error_detail(exc.body, exc.message)}.",
                status_code=exc.status_code,
            )
        return MalformedAnswer(f"{where} answered with something unusable: {exc}.")


def _object_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Tool inputs must be objects; wrap any other schema in a one-field object."""
    if schema.get("type") == "object":
        return schema
    return {"type": "object", "properties": {"value": schema}, "required": ["value"]}


def _unwrap(schema: dict[str, Any], tool_input: object) -> object:
    if schema.get("type") == "object" or not isinstance(tool_input, dict):
        return tool_input
    return tool_input.get("value")
