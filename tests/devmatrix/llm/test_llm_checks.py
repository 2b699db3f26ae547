"""`devmatrix doctor` rows for the model provider and the response cache."""

from __future__ import annotations

from pathlib import Path

from llm_loopback import LoopbackServer, anthropic_error, json_reply

from devmatrix.config import load_settings
from devmatrix.llm.checks import cache_check, model_provider_check

ANTHROPIC_MODELS = {
    "data": [
        {
            "id": "claude-sonnet-4-6",
            "type": "model",
            "display_name": "Claude Sonnet 4.6",
            "created_at": "2026-01-01T00:00:00Z",
        }
    ],
    "has_more": False,
    "first_id": "claude-sonnet-4-6",
    "last_id": "claude-sonnet-4-6",
}
OPENAI_MODELS = {
    "object": "list",
    "data": [{"id": "llama3.1:8b", "object": "model", "created": 1, "owned_by": "me"}],
}


def test_nothing_configured_passes_and_says_what_to_set() -> None:
    check = model_provider_check(load_settings())

    assert (check.part, check.implementation, check.ok) == ("model provider", "none", True)
    assert "ANTHROPIC_API_KEY" in check.detail


def test_anthropic_key_is_checked_against_the_api(server: LoopbackServer) -> None:
    server.push(json_reply(ANTHROPIC_MODELS))
    settings = load_settings(anthropic_api_key="sk-test", anthropic_base_url=server.url)

    check = model_provider_check(settings)

    assert (check.implementation, check.ok) == ("anthropic", True)
    assert "claude-sonnet-4-6" in check.detail
    assert "ANTHROPIC_API_KEY set" in check.detail
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/models")]


def test_refused_anthropic_key_fails_and_names_the_variable(server: LoopbackServer) -> None:
    server.push(anthropic_error(401, "authentication_error", "invalid x-api-key"))
    settings = load_settings(anthropic_api_key="sk-bad", anthropic_base_url=server.url)

    check = model_provider_check(settings)

    assert not check.ok
    assert "ANTHROPIC_API_KEY" in check.detail
    assert len(server.requests) == 1  # the doctor does not retry


def test_local_openai_server_lists_the_model(server: LoopbackServer) -> None:
    server.push(json_reply(OPENAI_MODELS))
    settings = load_settings(openai_base_url=f"{server.url}/v1", llm_model="llama3.1:8b")

    check = model_provider_check(settings)

    assert (check.implementation, check.ok) == ("openai", True)
    assert "model llama3.1:8b at" in check.detail
    assert "not listed" not in check.detail


def test_unreachable_openai_server_fails() -> None:
    settings = load_settings(openai_base_url="http://127.0.0.1:9/v1", llm_model="m")

    check = model_provider_check(settings)

    assert not check.ok
    assert "OPENAI_BASE_URL" in check.detail


def test_scripted_answers_are_counted(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text('{"answers": [{"purpose": "chat", "answer": "hi"}]}', encoding="utf-8")

    check = model_provider_check(load_settings(scripted_answers=answers))

    assert (check.implementation, check.ok) == ("scripted", True)
    assert "1 prepared answers" in check.detail


def test_database_cache_answers() -> None:
    check = cache_check(load_settings())

    assert (check.part, check.implementation, check.ok) == ("cache", "database", True)


def test_redis_cache_answers(redis_url: str) -> None:
    check = cache_check(load_settings(redis_url=redis_url))

    assert (check.implementation, check.ok) == ("redis", True)


def test_unreachable_redis_fails() -> None:
    check = cache_check(load_settings(redis_url="redis://127.0.0.1:9/0"))

    assert (check.implementation, check.ok) == ("redis", False)
    assert "ConnectionError" in check.detail
