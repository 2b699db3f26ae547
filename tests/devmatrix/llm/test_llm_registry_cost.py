"""Provider selection from settings, and the price table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devmatrix.config import load_settings
from devmatrix.errors import ConfigError, ProviderUnavailable
from devmatrix.llm.anthropic_provider import AnthropicProvider
from devmatrix.llm.cost import cost_usd, load_price_table, price_for
from devmatrix.llm.openai_provider import OpenAICompatibleProvider
from devmatrix.llm.registry import provider_names, select_provider
from devmatrix.llm.scripted_provider import ScriptedProvider
from devmatrix.llm.types import Usage


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.json"
    path.write_text('{"answers": []}', encoding="utf-8")
    return path


def test_auto_with_nothing_configured_says_exactly_what_to_set() -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        select_provider(load_settings())

    message = str(caught.value)
    for variable in ("ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "DEVMATRIX_SCRIPTED_ANSWERS"):
        assert variable in message


def test_auto_prefers_anthropic_then_openai_then_scripted(answers: Path) -> None:
    everything = load_settings(
        anthropic_api_key="sk-a",
        openai_base_url="http://127.0.0.1:11434/v1",
        llm_model="m",
        scripted_answers=answers,
    )
    assert isinstance(select_provider(everything), AnthropicProvider)
    no_key = everything.model_copy(update={"anthropic_api_key": None})
    assert isinstance(select_provider(no_key), OpenAICompatibleProvider)
    only_script = no_key.model_copy(update={"openai_base_url": None})
    assert isinstance(select_provider(only_script), ScriptedProvider)


def test_explicit_anthropic_without_key_names_the_variable() -> None:
    with pytest.raises(ProviderUnavailable, match="ANTHROPIC_API_KEY"):
        select_provider(load_settings(llm_provider="anthropic"))


def test_anthropic_base_url_and_model_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("DEVMATRIX_LLM_MODEL", "claude-haiku-4-5")

    chosen = select_provider(load_settings())

    assert isinstance(chosen, AnthropicProvider)
    assert (chosen.base_url, chosen.default_model) == ("http://127.0.0.1:9999", "claude-haiku-4-5")


def test_builtins_are_listed_like_plugins() -> None:
    assert {"anthropic", "openai", "scripted"} <= set(provider_names())


def test_cost_uses_the_longest_matching_price() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=2_000_000)

    assert cost_usd("claude-sonnet-4-6", usage) == pytest.approx(3 + 1.5 + 0.6)
    assert cost_usd("claude-opus-4-1-20250805", usage) == pytest.approx(15 + 7.5 + 3)
    assert cost_usd("gpt-4o-mini", usage) == pytest.approx(0.15 + 0.06 + 0.15)
    assert cost_usd("llama3.1:8b", usage) == 0.0


def test_price_file_overrides_and_extends_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps({"llama3": {"input": 0.1, "output": 0.2}, "gpt-4o": {"input": 1, "output": 2}}),
        encoding="utf-8",
    )

    table = load_price_table(path)

    assert cost_usd("llama3.1:8b", Usage(input_tokens=10**6), table) == pytest.approx(0.1)
    assert price_for("gpt-4o-2024-08-06", table) == table["gpt-4o"]
    assert table["gpt-4o"].input == 1
    assert "claude-sonnet" in table


def test_bad_price_file_names_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"m": {"input": "cheap"}}', encoding="utf-8")

    with pytest.raises(ConfigError, match="DEVMATRIX_PRICE_TABLE"):
        load_price_table(path)
