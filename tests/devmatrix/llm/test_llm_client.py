"""LLMClient end to end: the real SDKs against loopback servers, a real database, a real Redis."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_loopback import LoopbackServer, anthropic_stream, json_reply, openai_completion
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from devmatrix.config import load_settings
from devmatrix.errors import BudgetExceeded
from devmatrix.llm.anthropic_provider import AnthropicProvider
from devmatrix.llm.budget import Budget
from devmatrix.llm.cache import DatabaseCache, RedisCache, cache_key
from devmatrix.llm.client import LLMClient, build_llm_client
from devmatrix.llm.openai_provider import OpenAICompatibleProvider
from devmatrix.llm.provider import Provider
from devmatrix.llm.scripted_provider import ScriptedProvider
from devmatrix.llm.types import LLMRequest, LLMResponse, Message, Usage
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import MasterPlan, Role, Team, UsageRecord, User


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied per test: migrating each time would dominate the run."""
    path = tmp_path_factory.mktemp("template") / "llm.db"
    template = create_db_engine(f"sqlite:///{path}")
    migrate.upgrade(template)
    template.dispose()
    return path


@pytest.fixture
def engine(migrated_sqlite: Path, tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database of this test's own."""
    path = tmp_path / "llm.db"
    shutil.copyfile(migrated_sqlite, path)
    created = create_db_engine(f"sqlite:///{path}")
    yield created
    created.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """SQLite, then a fresh migrated PostgreSQL database, for what depends on SQL behaviour."""
    if request.param == "sqlite":
        yield request.getfixturevalue("engine")
        return
    created = create_db_engine(request.getfixturevalue("postgres_url"))
    migrate.upgrade(created)
    yield created
    created.dispose()


def seed_owners(engine: Engine) -> tuple[int, int]:
    """A user and a plan to attribute usage to: (user_id, plan_id)."""
    with session_scope(engine) as session:
        team, role = Team(name="core"), Role(name="user")
        session.add_all([team, role])
        session.flush()
        assert team.id is not None
        assert role.id is not None
        user = User(
            username="ana",
            email="a@example.com",
            password_hash="x",
            team_id=team.id,
            role_id=role.id,
        )
        plan = MasterPlan(title="todo api", team_id=team.id)
        session.add_all([user, plan])
        session.flush()
        assert user.id is not None
        assert plan.id is not None
        return user.id, plan.id


def anthropic(server: LoopbackServer) -> AnthropicProvider:
    return AnthropicProvider(
        api_key="sk-test", base_url=server.url, default_model="claude-sonnet-4-6", max_retries=0
    )


def openai_compatible(server: LoopbackServer) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        base_url=f"{server.url}/v1", default_model="gpt-4o", max_retries=0, stream=False
    )


def ask(text: str = "Plan a todo API", **fields: object) -> LLMRequest:
    return LLMRequest(messages=[Message(role="user", content=text)], **fields)  # type: ignore[arg-type]


def usage_rows(engine: Engine) -> list[UsageRecord]:
    with session_scope(engine) as session:
        return list(session.exec(select(UsageRecord).order_by(UsageRecord.id)))  # type: ignore[arg-type]


def sonnet_reply(text: str, input_tokens: int = 1000, output_tokens: int = 100) -> object:
    return anthropic_stream(
        [text], model="claude-sonnet-4-6", input_tokens=input_tokens, output_tokens=output_tokens
    )


async def test_anthropic_call_is_recorded_and_a_cache_hit_makes_no_request(
    server: LoopbackServer, any_engine: Engine
) -> None:
    user_id, plan_id = seed_owners(any_engine)
    server.push(sonnet_reply("Hello", input_tokens=1_000_000, output_tokens=0))
    client = LLMClient(anthropic(server), engine=any_engine, cache=DatabaseCache(any_engine, 3600))

    first = await client.complete(ask(purpose="discovery"), user_id=user_id, plan_id=plan_id)
    second = await client.complete(ask(purpose="discovery"), user_id=user_id, plan_id=plan_id)

    assert len(server.requests) == 1
    assert (first.text, first.cached, first.cost_usd) == ("Hello", False, pytest.approx(3.0))
    assert (second.text, second.cached, second.cost_usd) == ("Hello", True, 0.0)
    paid, cached = usage_rows(any_engine)
    assert (paid.provider, paid.model, paid.purpose) == (
        "anthropic",
        "claude-sonnet-4-6",
        "discovery",
    )
    assert (paid.user_id, paid.plan_id, paid.input_tokens) == (user_id, plan_id, 1_000_000)
    assert paid.cost_usd == pytest.approx(3.0)
    assert paid.latency_ms > 0
    assert not paid.cached
    assert cached.cached
    assert cached.cost_usd == 0.0


async def test_streamed_text_reaches_the_caller_and_a_cache_hit_comes_whole(
    server: LoopbackServer, engine: Engine
) -> None:
    server.push(anthropic_stream(["Hel", "lo ", "world"], model="claude-sonnet-4-6"))
    client = LLMClient(anthropic(server), engine=engine, cache=DatabaseCache(engine, 3600))
    live: list[str] = []
    cached: list[str] = []

    first = await client.complete(ask(purpose="chat"), on_text=live.append)
    again = await client.complete(ask(purpose="chat"), on_text=cached.append)

    assert live == ["Hel", "lo ", "world"]
    assert cached == ["Hello world"]
    assert (first.text, again.text, again.cached) == ("Hello world", "Hello world", True)
    assert len(server.requests) == 1


async def test_openai_cache_hit_makes_no_request(server: LoopbackServer, engine: Engine) -> None:
    server.push(json_reply(openai_completion("Hi", model="gpt-4o")))
    client = LLMClient(openai_compatible(server), engine=engine, cache=DatabaseCache(engine, 3600))

    await client.complete(ask())
    again = await client.complete(ask())

    assert again.cached
    assert again.text == "Hi"
    assert len(server.requests) == 1


async def test_different_parameters_are_not_served_from_the_cache(
    server: LoopbackServer, engine: Engine
) -> None:
    server.push(sonnet_reply("cold"), sonnet_reply("warm"))
    client = LLMClient(anthropic(server), engine=engine, cache=DatabaseCache(engine, 3600))

    cold = await client.complete(ask(temperature=0.0))
    warm = await client.complete(ask(temperature=0.7))

    assert (cold.text, warm.text) == ("cold", "warm")
    assert len(server.requests) == 2


async def test_expired_entries_are_not_served(server: LoopbackServer, any_engine: Engine) -> None:
    server.push(sonnet_reply("one"), sonnet_reply("two"))
    client = LLMClient(anthropic(server), engine=any_engine, cache=DatabaseCache(any_engine, 0))

    await client.complete(ask())
    again = await client.complete(ask())

    assert again.text == "two"
    assert not again.cached
    assert len(server.requests) == 2


async def test_plan_budget_stop_makes_no_request(server: LoopbackServer, engine: Engine) -> None:
    _, plan_id = seed_owners(engine)
    client = LLMClient(anthropic(server), engine=engine, budget=Budget(per_plan_usd=0.01))

    with pytest.raises(BudgetExceeded) as caught:
        # 4096 output tokens of Sonnet could cost about $0.06, over the $0.01 left.
        await client.complete(ask(max_tokens=4096), plan_id=plan_id)

    assert server.requests == []
    message = str(caught.value)
    assert f"Plan {plan_id} has spent $0.0000 of its $0.0100 budget" in message
    assert "DEVMATRIX_BUDGET_PER_PLAN_USD" in message
    assert usage_rows(engine) == []


async def test_the_plans_own_budget_overrides_the_setting(
    server: LoopbackServer, engine: Engine
) -> None:
    _, plan_id = seed_owners(engine)
    with session_scope(engine) as session:
        plan = session.get(MasterPlan, plan_id)
        assert plan is not None
        plan.budget_usd = 100.0
    server.push(sonnet_reply("allowed"))
    client = LLMClient(anthropic(server), engine=engine, budget=Budget(per_plan_usd=0.01))

    answer = await client.complete(ask(max_tokens=4096), plan_id=plan_id)

    assert answer.text == "allowed"


async def test_user_budget_counts_recorded_spending(
    server: LoopbackServer, any_engine: Engine
) -> None:
    user_id, _ = seed_owners(any_engine)
    server.push(json_reply(openai_completion("ok", model="gpt-4o", prompt_tokens=30_000)))
    client = LLMClient(
        openai_compatible(server), engine=any_engine, budget=Budget(per_user_usd=0.0755)
    )

    await client.complete(ask(max_tokens=100), user_id=user_id)  # costs $0.075 at gpt-4o prices
    with pytest.raises(BudgetExceeded, match=r"spent \$0\.0750 of its \$0\.0755 budget") as caught:
        await client.complete(ask("another", max_tokens=100), user_id=user_id)

    assert len(server.requests) == 1
    assert "DEVMATRIX_BUDGET_PER_USER_USD" in str(caught.value)


async def test_parallel_calls_cannot_share_the_same_remaining_budget(
    server: LoopbackServer, engine: Engine
) -> None:
    _, plan_id = seed_owners(engine)
    slow = sonnet_reply("first")
    slow.delay = 0.3  # type: ignore[attr-defined]
    server.push(slow)
    # One call may cost up to ~$0.015 (1000 output tokens); the budget holds one, not two.
    client = LLMClient(anthropic(server), engine=engine, budget=Budget(per_plan_usd=0.025))

    results = await asyncio.gather(
        client.complete(ask("a", max_tokens=1000), plan_id=plan_id),
        client.complete(ask("b", max_tokens=1000), plan_id=plan_id),
        return_exceptions=True,
    )

    assert sum(isinstance(r, LLMResponse) for r in results) == 1
    assert sum(isinstance(r, BudgetExceeded) for r in results) == 1
    assert "calls still running" in str(next(r for r in results if isinstance(r, BudgetExceeded)))
    assert len(server.requests) == 1


def paid_usage(purpose: str = "atom:a.py::f") -> UsageRecord:
    return UsageRecord(provider="p", model="m", purpose=purpose, input_tokens=3, cost_usd=0.01)


def test_database_cache_stores_answer_and_usage_in_one_transaction(any_engine: Engine) -> None:
    cache = DatabaseCache(any_engine, 60)
    answer = LLMResponse(text="t", usage=Usage(input_tokens=3), model="m", provider="p")
    cache.put("k", answer, paid_usage())
    assert cache.get("k") == answer
    assert [(row.purpose, row.cached) for row in usage_rows(any_engine)] == [
        ("atom:a.py::f", False)
    ]

    # An answer that cannot be stored (a row that breaks a constraint) takes its usage with it:
    # neither is half-written.
    broken = paid_usage()
    broken.user_id = 999_999  # no such user
    with pytest.raises(IntegrityError):
        cache.put("k2", answer, broken)
    assert cache.get("k2") is None
    assert len(usage_rows(any_engine)) == 1


def test_redis_cache_round_trip_with_ttl(redis_url: str, engine: Engine) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    cache = RedisCache(redis_url, 60, engine, prefix=prefix)
    answer = LLMResponse(text="t", usage=Usage(input_tokens=3), model="m", provider="p")
    try:
        cache.ping()
        assert cache.get("k") is None
        cache.put("k", answer, paid_usage())
        assert cache.get("k") == answer
        assert [row.purpose for row in usage_rows(engine)] == ["atom:a.py::f"]
        ttl = cache._redis.ttl(prefix + "k")
        assert 0 < int(ttl) <= 60  # type: ignore[arg-type]
    finally:
        cache._redis.delete(prefix + "k")
        cache.close()


async def test_redis_cache_hit_makes_no_request(
    redis_url: str, server: LoopbackServer, engine: Engine
) -> None:
    cache = RedisCache(redis_url, 60, engine, prefix=f"test:{uuid.uuid4().hex}:")
    server.push(sonnet_reply("from redis"))
    client = LLMClient(anthropic(server), engine=engine, cache=cache)
    try:
        await client.complete(ask())
        again = await client.complete(ask())
    finally:
        cache._redis.delete(cache.prefix + cache_key("anthropic", "claude-sonnet-4-6", ask()))
        cache.close()

    assert again.cached
    assert again.text == "from redis"
    assert len(server.requests) == 1


def test_cache_key_covers_what_determines_the_answer() -> None:
    base = cache_key("anthropic", "m", ask())

    assert base == cache_key("anthropic", "m", ask(purpose="other label"))
    assert base != cache_key("openai", "m", ask())
    assert base != cache_key("anthropic", "m2", ask())
    assert base != cache_key("anthropic", "m", ask(system="s"))
    assert base != cache_key("anthropic", "m", ask(max_tokens=10))
    assert base != cache_key("anthropic", "m", ask(json_schema={"type": "object"}))


async def test_build_llm_client_from_settings(tmp_path: Path, engine: Engine) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"answers": [{"purpose": "chat", "answer": "scripted hi"}]}))
    settings = load_settings(scripted_answers=answers, budget_per_user_usd=1.0)

    client = build_llm_client(settings, engine)
    answer = await client.complete(ask())

    provider: Provider = client.provider
    assert isinstance(provider, ScriptedProvider)
    assert isinstance(client.cache, DatabaseCache)
    assert client.budget.per_user_usd == 1.0
    assert answer.text == "scripted hi"
    assert [row.provider for row in usage_rows(engine)] == ["scripted"]


def test_build_llm_client_uses_redis_when_configured(
    tmp_path: Path, engine: Engine, redis_url: str
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text('{"answers": []}')
    settings = load_settings(scripted_answers=answers, redis_url=redis_url)

    client = build_llm_client(settings, engine)

    assert isinstance(client.cache, RedisCache)
    client.cache.ping()
    client.cache.close()
