"""Any OpenAI-compatible chat completions server by base URL: Ollama, vLLM, llama.cpp, LM Studio, OpenAI.

Retries on 429/5xx/timeouts are the `openai` SDK's own (`max_retries`, honouring `retry-after-ms`
and `retry-after`). JSON answers use `response_format` with the schema, and the schema is also
stated in the system prompt because several local servers ignore `response_format`.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import openai

from devmatrix.config import Settings
from devmatrix.errors import LLMError, ProviderUnavailable
from devmatrix.llm.errors import MalformedAnswer, ProviderCallFailed, api_error_detail
from devmatrix.llm.provider import TextSink
from devmatrix.llm.types import LLMRequest, LLMResponse, Usage

OPENAI_URL = "https://api.openai.com/v1"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"
# Local servers ignore the key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "not-needed"


class OpenAICompatibleProvider:
    """Chat completions through `openai.AsyncOpenAI` pointed at any compatible base URL."""

    name: ClassVar[str] = "openai"
    supports_streaming: ClassVar[bool] = True
    supports_json_schema: ClassVar[bool] = True
    supports_prompt_cache: ClassVar[bool] = False

    def __init__(
        self,
        *,
        base_url: str,
        default_model: str,
        api_key: str | None = None,
        timeout_seconds: float = 120.0,
        max_retries: int = 4,
        stream: bool = True,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.default_model = default_model
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.stream = stream
        self._client = openai.AsyncOpenAI(
            api_key=api_key or PLACEHOLDER_KEY,
            base_url=base_url,
            timeout=timeout_seconds,
            max_retries=max_retries,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAICompatibleProvider:
        """Build from settings: OPENAI_BASE_URL (or OpenAI itself when only a key is set)."""
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        if not settings.openai_base_url and not key:
            raise ProviderUnavailable(
                "The OpenAI-compatible provider needs a server URL.",
                "Set OPENAI_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama) or OPENAI_API_KEY.",
            )
        base_url = settings.openai_base_url or OPENAI_URL
        model = settings.llm_model or (OPENAI_DEFAULT_MODEL if base_url == OPENAI_URL else None)
        if model is None:
            raise ProviderUnavailable(
                f"No model is named for the server at {base_url}.",
                "Set DEVMATRIX_LLM_MODEL to a model the server serves (e.g. llama3.1:8b on Ollama).",
            )
        return cls(
            base_url=base_url,
            default_model=model,
            api_key=key,
            timeout_seconds=settings.llm_timeout_seconds,
            max_retries=settings.llm_max_retries,
        )

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Make one chat completions call (streamed unless disabled) and assemble text and usage."""
        return await self._call(request, None)

    async def complete_streamed(self, request: LLMRequest, on_text: TextSink) -> LLMResponse:
        """Like `complete`, passing each text delta to `on_text` as it arrives. A JSON answer
        (its fences are stripped at the end) and a call with streaming disabled give their
        text once, whole."""
        return await self._call(request, on_text)

    async def _call(self, request: LLMRequest, on_text: TextSink | None) -> LLMResponse:
        params = self._params(request)
        deltas = on_text if self.stream and request.json_schema is None else None
        try:
            if self.stream:
                text, usage, model, stop = await self._streamed(params, deltas)
            else:
                completion = await self._client.chat.completions.create(**params)
                if not completion.choices:
                    raise MalformedAnswer(
                        f"The server at {self.base_url} answered with no choices."
                    )
                choice = completion.choices[0]
                text, usage = choice.message.content or "", _usage(completion.usage)
                model, stop = completion.model, choice.finish_reason
        except openai.APIError as exc:
            raise self._as_llm_error(exc) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MalformedAnswer(
                f"The server at {self.base_url} sent a body that is not valid JSON: {exc}.",
                "Check that OPENAI_BASE_URL points at an OpenAI-compatible /v1 endpoint.",
            ) from exc
        if request.json_schema is not None:
            text = _strip_fences(text)
        if on_text is not None and deltas is None:
            on_text(text)
        return LLMResponse(
            text=text,
            usage=usage,
            model=model or params["model"],
            provider=self.name,
            stop_reason=stop,
        )

    async def list_models(self, timeout_seconds: float = 5.0) -> list[str]:
        """The model ids the server offers: one quick request without retries (used by the doctor)."""
        quick = self._client.with_options(max_retries=0, timeout=timeout_seconds)
        try:
            return [model.id async for model in quick.models.list()]
        except openai.APIError as exc:
            raise self._as_llm_error(exc) from exc

    async def _streamed(
        self, params: dict[str, Any], on_text: TextSink | None
    ) -> tuple[str, Usage, str, str | None]:
        stream = await self._client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
        pieces: list[str] = []
        usage, model, stop = Usage(), "", None
        async with stream:
            async for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices:
                    if choice.delta.content:
                        pieces.append(choice.delta.content)
                        if on_text is not None:
                            on_text(choice.delta.content)
                    stop = choice.finish_reason or stop
        return "".join(pieces), usage, model, stop

    def _params(self, request: LLMRequest) -> dict[str, Any]:
        system = request.system or ""
        if request.json_schema is not None:
            schema_text = json.dumps(request.json_schema)
            system += (
                f"\n\nReply with one JSON value only, matching this JSON schema: {schema_text}"
            )
        messages: list[dict[str, str]] = []
        if system.strip():
            messages.append({"role": "system", "content": system.strip()})
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        params: dict[str, Any] = {
            "model": request.model or self.default_model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.json_schema is not None:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": request.json_schema},
            }
        return params

    def _as_llm_error(self, exc: openai.APIError) -> LLMError:
        where = f"The server at {self.base_url}"
        retries = f"after {self.max_retries} retries"
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return ProviderUnavailable(
                f"{where} refused the API key: {api_error_detail(exc.body, exc.message)}.",
                "Set OPENAI_API_KEY (or DEVMATRIX_OPENAI_API_KEY) to a valid key.",
            )
        if isinstance(exc, openai.APIStatusError) and (
            exc.status_code == 429 or exc.status_code >= 500
        ):
            label = "rate limiting" if exc.status_code == 429 else "failing"
            return ProviderCallFailed(
                f"{where} is still {label} ({exc.status_code}) {retries}: {api_error_detail(exc.body, exc.message)}.",
                "Try again later, lower the concurrency, or raise DEVMATRIX_LLM_MAX_RETRIES.",
                status_code=exc.status_code,
                transient=True,
            )
        if isinstance(exc, openai.APITimeoutError):
            return ProviderCallFailed(
                f"{where} gave no answer within {self.timeout_seconds:g}s {retries}.",
                "Raise DEVMATRIX_LLM_TIMEOUT_SECONDS or use a smaller model.",
                transient=True,
            )
        if isinstance(exc, openai.APIConnectionError):
            return ProviderUnavailable(
                f"Cannot reach {where} {retries}: {exc}.",
                "Start the server or fix OPENAI_BASE_URL.",
            )
        if isinstance(exc, openai.APIStatusError):
            return ProviderCallFailed(
                f"{where} rejected the request ({exc.status_code}): {api_error_detail(exc.body, exc.message)}.",
                status_code=exc.status_code,
            )
        return MalformedAnswer(f"{where} answered with something unusable: {exc}.")


def _usage(usage: Any) -> Usage:
    """OpenAI counts cached prompt tokens inside `prompt_tokens`; ours keeps them apart."""
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    cached = int(getattr(details, "cached_tokens", 0) or 0)
    return Usage(
        input_tokens=max(int(usage.prompt_tokens or 0) - cached, 0),
        output_tokens=int(usage.completion_tokens or 0),
        cache_read_tokens=cached,
    )


def _strip_fences(text: str) -> str:
    """Local models often wrap JSON in a Markdown fence despite being told not to."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        stripped = stripped.removeprefix("```json").removeprefix("```").removesuffix("```")
    return stripped.strip()
