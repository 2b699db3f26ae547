"""The Anthropic provider drives the real SDK against a loopback server speaking the Messages API."""

from __future__ import annotations

import json

import pytest
from llm_loopback import (
    LoopbackServer,
    Reply,
    anthropic_error,
    anthropic_message,
    anthropic_stream,
    json_reply,
)

from devmatrix.errors import ProviderUnavailable
from devmatrix.llm.anthropic_provider import AnthropicProvider
from devmatrix.llm.errors import MalformedAnswer, ProviderCallFailed
from devmatrix.llm.types import LLMRequest, Message

SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}


def provider(server: LoopbackServer, **options: object) -> AnthropicProvider:
    settings: dict[str, object] = {"max_retries": 2, "timeout_seconds": 5.0, **options}
    return AnthropicProvider(api_key="sk-test", base_url=server.url, **settings)  # type: ignore[arg-type]


def ask(text: str = "Plan a todo API", **fields: object) -> LLMRequest:
    return LLMRequest(messages=[Message(role="user", content=text)], **fields)  # type: ignore[arg-type]


async def test_streamed_answer_is_assembled_with_usage_and_cached_system(
    server: LoopbackServer,
) -> None:
    server.push(
        anthropic_stream(["Hel", "lo ", "world"], input_tokens=7, output_tokens=3, cache_read=90)
    )

    answer = await provider(server).complete(ask(system="You are a planner.", purpose="discovery"))

    assert answer.text == "Hello world"
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (7, 3)
    assert answer.usage.cache_read_tokens == 90
    assert answer.provider == "anthropic"
    assert answer.stop_reason == "end_turn"
    [seen] = server.requests
    assert seen.path == "/v1/messages"
    # SDK 2.x sends the key as a bearer token; older ones used x-api-key.
    assert "sk-test" in seen.headers.get("x-api-key", seen.headers.get("authorization", ""))
    assert seen.body["stream"] is True
    assert seen.body["system"] == [
        {"type": "text", "text": "You are a planner.", "cache_control": {"type": "ephemeral"}}
    ]
    assert seen.body["messages"] == [{"role": "user", "content": "Plan a todo API"}]


async def test_plain_json_answer_without_streaming(server: LoopbackServer) -> None:
    server.push(
        json_reply(anthropic_message("Fine.", input_tokens=4, output_tokens=2, cache_write=30))
    )

    answer = await provider(server, stream=False).complete(
        ask(system="short", cache_system=False, model="claude-haiku-4-5")
    )

    assert answer.text == "Fine."
    assert answer.usage.cache_write_tokens == 30
    assert server.requests[0].body.get("stream") is not True
    assert server.requests[0].body["system"] == "short"
    assert server.requests[0].body["model"] == "claude-haiku-4-5"


async def test_json_schema_is_asked_through_a_forced_tool(server: LoopbackServer) -> None:
    server.push(anthropic_stream([], tool_json=['{"title": "To', 'dos"}']))

    answer = await provider(server).complete(ask(json_schema=SCHEMA))

    assert json.loads(answer.text) == {"title": "Todos"}
    body = server.requests[0].body
    assert body["tools"][0]["input_schema"] == SCHEMA
    assert body["tool_choice"] == {"type": "tool", "name": "answer"}


async def test_non_object_schema_is_wrapped_and_unwrapped(server: LoopbackServer) -> None:
    server.push(json_reply(anthropic_message("", tool_input={"value": ["a", "b"]})))
    schema = {"type": "array", "items": {"type": "string"}}

    answer = await provider(server, stream=False).complete(ask(json_schema=schema))

    assert json.loads(answer.text) == ["a", "b"]
    assert server.requests[0].body["tools"][0]["input_schema"]["properties"]["value"] == schema


async def test_streamed_deltas_reach_the_callback_as_they_arrive(server: LoopbackServer) -> None:
    server.push(anthropic_stream(["An atom ", "is one ", "symbol."]))
    pieces: list[str] = []

    answer = await provider(server).complete_streamed(ask(), pieces.append)

    assert pieces == ["An atom ", "is one ", "symbol."]
    assert answer.text == "An atom is one symbol."


async def test_json_and_unstreamed_answers_reach_the_callback_whole(server: LoopbackServer) -> None:
    server.push(anthropic_stream([], tool_json=['{"title": "To', 'dos"}']))
    server.push(json_reply(anthropic_message("Whole.")))
    pieces: list[str] = []

    asked = await provider(server).complete_streamed(ask(json_schema=SCHEMA), pieces.append)
    plain = await provider(server, stream=False).complete_streamed(ask(), pieces.append)

    assert pieces == [asked.text, "Whole."]
    assert json.loads(pieces[0]) == {"title": "Todos"}
    assert plain.text == "Whole."


async def test_429_is_retried_after_the_retry_after_ms_delay(server: LoopbackServer) -> None:
    server.push(
        anthropic_error(429, "rate_limit_error", "slow down", **{"retry-after-ms": "40"}),
        anthropic_stream(["ok"]),
    )

    answer = await provider(server).complete(ask())

    assert answer.text == "ok"
    assert len(server.requests) == 2
    # The SDK's own backoff is at least 0.375s; a faster retry means the header was honoured.
    assert 0.04 <= server.gap(0, 1) < 0.35


async def test_429_with_retry_after_seconds_waits_that_long(server: LoopbackServer) -> None:
    server.push(
        anthropic_error(429, "rate_limit_error", "slow down", **{"retry-after": "0.9"}),
        anthropic_stream(["ok"]),
    )

    answer = await provider(server).complete(ask())

    assert answer.text == "ok"
    assert server.gap(0, 1) >= 0.9  # longer than any first backoff the SDK picks itself


async def test_529_until_retries_run_out_is_a_clear_transient_error(server: LoopbackServer) -> None:
    overloaded = anthropic_error(529, "overloaded_error", "Overloaded", **{"retry-after-ms": "5"})
    server.push(overloaded, overloaded, overloaded)

    with pytest.raises(ProviderCallFailed) as caught:
        await provider(server, max_retries=2).complete(ask())

    assert len(server.requests) == 3
    assert caught.value.status_code == 529
    assert caught.value.transient
    assert "overloaded (529) after 2 retries: Overloaded" in str(caught.value)
    assert "DEVMATRIX_LLM_MAX_RETRIES" in str(caught.value)


async def test_malformed_json_body_is_reported(server: LoopbackServer) -> None:
    server.push(Reply(body=b"<html>not json</html>"))

    with pytest.raises(MalformedAnswer, match=r"not valid JSON.*ANTHROPIC_BASE_URL"):
        await provider(server, stream=False).complete(ask())

    assert len(server.requests) == 1  # a malformed answer is not retried blindly


async def test_malformed_stream_is_reported(server: LoopbackServer) -> None:
    server.push(Reply(events=[("message_start", "{this is not json")]))

    with pytest.raises(MalformedAnswer, match="not valid JSON"):
        await provider(server).complete(ask())


async def test_timeout_is_retried_then_reported(server: LoopbackServer) -> None:
    slow = anthropic_stream(["late"])
    slow.delay = 1.5
    server.push(slow, Reply(**{**slow.__dict__}))

    with pytest.raises(ProviderCallFailed, match=r"no answer within 0.3s after 1 retries"):
        await provider(server, timeout_seconds=0.3, max_retries=1).complete(ask())

    assert len(server.requests) == 2


async def test_refused_key_says_which_variable_to_set(server: LoopbackServer) -> None:
    server.push(anthropic_error(401, "authentication_error", "invalid x-api-key"))

    with pytest.raises(ProviderUnavailable, match="ANTHROPIC_API_KEY") as caught:
        await provider(server).complete(ask())

    assert "invalid x-api-key" in str(caught.value)
    assert len(server.requests) == 1
