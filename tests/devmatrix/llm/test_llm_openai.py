"""The OpenAI-compatible provider drives the real `openai` SDK against a loopback chat completions server."""

from __future__ import annotations

import json

import pytest
from llm_loopback import (
    LoopbackServer,
    Reply,
    json_reply,
    openai_completion,
    openai_error,
    openai_stream,
)

from devmatrix.config import load_settings
from devmatrix.errors import ProviderUnavailable
from devmatrix.llm.errors import MalformedAnswer, ProviderCallFailed
from devmatrix.llm.openai_provider import OpenAICompatibleProvider
from devmatrix.llm.types import LLMRequest, Message

SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}


def provider(server: LoopbackServer, **options: object) -> OpenAICompatibleProvider:
    settings: dict[str, object] = {"max_retries": 2, "timeout_seconds": 5.0, **options}
    return OpenAICompatibleProvider(
        base_url=f"{server.url}/v1",
        default_model="llama3.1:8b",
        **settings,  # type: ignore[arg-type]
    )


def ask(text: str = "Plan a todo API", **fields: object) -> LLMRequest:
    return LLMRequest(messages=[Message(role="user", content=text)], **fields)  # type: ignore[arg-type]


async def test_streamed_answer_is_assembled_with_usage(server: LoopbackServer) -> None:
    server.push(openai_stream(["Hel", "lo"], prompt_tokens=21, completion_tokens=2))

    answer = await provider(server).complete(ask(system="Be brief.", temperature=0.2))

    assert answer.text == "Hello"
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (21, 2)
    assert (answer.provider, answer.model, answer.stop_reason) == ("openai", "local-test", "stop")
    [seen] = server.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.body["stream"] is True
    assert seen.body["stream_options"] == {"include_usage": True}
    assert seen.body["model"] == "llama3.1:8b"
    assert seen.body["temperature"] == 0.2
    assert seen.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Plan a todo API"},
    ]


async def test_plain_json_answer_keeps_cached_tokens_apart(server: LoopbackServer) -> None:
    server.push(json_reply(openai_completion("Fine.", prompt_tokens=100, cached_tokens=60)))

    answer = await provider(server, stream=False).complete(ask())

    assert answer.text == "Fine."
    assert (answer.usage.input_tokens, answer.usage.cache_read_tokens) == (40, 60)


async def test_json_schema_goes_in_response_format_and_fences_are_dropped(
    server: LoopbackServer,
) -> None:
    server.push(openai_stream(['```json\n{"title": ', '"Todos"}\n```']))

    answer = await provider(server).complete(ask(json_schema=SCHEMA))

    assert json.loads(answer.text) == {"title": "Todos"}
    body = server.requests[0].body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert json.dumps(SCHEMA) in body["messages"][0]["content"]


async def test_streamed_deltas_reach_the_callback_as_they_arrive(server: LoopbackServer) -> None:
    server.push(openai_stream(["An atom ", "is one ", "symbol."]))
    server.push(openai_stream(['```json\n{"title": ', '"Todos"}\n```']))
    pieces: list[str] = []

    answer = await provider(server).complete_streamed(ask(), pieces.append)
    asked = await provider(server).complete_streamed(ask(json_schema=SCHEMA), pieces.append)

    assert answer.text == "An atom is one symbol."
    # A JSON answer comes whole, once its fences are stripped.
    assert pieces == ["An atom ", "is one ", "symbol.", asked.text]
    assert json.loads(asked.text) == {"title": "Todos"}


async def test_429_is_retried_after_retry_after_ms(server: LoopbackServer) -> None:
    server.push(openai_error(429, "slow down", **{"retry-after-ms": "40"}), openai_stream(["ok"]))

    answer = await provider(server).complete(ask())

    assert answer.text == "ok"
    assert len(server.requests) == 2
    assert 0.04 <= server.gap(0, 1) < 0.35  # the SDK's own backoff would be >= 0.375s


async def test_503_until_retries_run_out_is_a_clear_transient_error(server: LoopbackServer) -> None:
    busy = openai_error(503, "model is loading", **{"retry-after-ms": "5"})
    server.push(busy, busy, busy)

    with pytest.raises(ProviderCallFailed) as caught:
        await provider(server, max_retries=2).complete(ask())

    assert len(server.requests) == 3
    assert caught.value.transient
    assert "(503) after 2 retries: model is loading" in str(caught.value)


async def test_malformed_body_is_reported(server: LoopbackServer) -> None:
    server.push(Reply(body=b"<html>gateway</html>"))

    with pytest.raises(MalformedAnswer, match="not valid JSON"):
        await provider(server, stream=False).complete(ask())

    assert len(server.requests) == 1


async def test_malformed_stream_is_reported(server: LoopbackServer) -> None:
    server.push(Reply(events=[(None, "{broken")]))

    with pytest.raises(MalformedAnswer, match="not valid JSON"):
        await provider(server).complete(ask())


async def test_timeout_is_retried_then_reported(server: LoopbackServer) -> None:
    slow = openai_stream(["late"])
    slow.delay = 1.5
    server.push(slow, Reply(**{**slow.__dict__}))

    with pytest.raises(ProviderCallFailed, match=r"no answer within 0.3s after 1 retries"):
        await provider(server, timeout_seconds=0.3, max_retries=1).complete(ask())

    assert len(server.requests) == 2


async def test_unreachable_server_is_provider_unavailable() -> None:
    dead = OpenAICompatibleProvider(
        base_url="http://127.0.0.1:9/v1", default_model="m", max_retries=0, timeout_seconds=1
    )

    with pytest.raises(ProviderUnavailable, match="OPENAI_BASE_URL"):
        await dead.complete(ask())


def test_settings_without_url_or_key_say_what_to_set() -> None:
    with pytest.raises(ProviderUnavailable, match="OPENAI_BASE_URL"):
        OpenAICompatibleProvider.from_settings(load_settings())


def test_local_url_without_model_asks_for_the_model() -> None:
    settings = load_settings(openai_base_url="http://127.0.0.1:11434/v1")

    with pytest.raises(ProviderUnavailable, match="DEVMATRIX_LLM_MODEL"):
        OpenAICompatibleProvider.from_settings(settings)
