"""The one way the engine calls a model: cache, then budget check, then provider, then usage record."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Engine

from devmatrix.config import Settings
from devmatrix.llm.budget import Budget, check_budget, estimate_cost_usd
from devmatrix.llm.cache import (
    DatabaseCache,
    RedisCache,
    ResponseCache,
    cache_key,
    record_usage,
)
from devmatrix.llm.cost import DEFAULT_PRICES, PriceTable, cost_usd, load_price_table
from devmatrix.llm.provider import Provider, TextSink, model_for, streams_text
from devmatrix.llm.registry import select_provider
from devmatrix.llm.types import LLMRequest, LLMResponse
from devmatrix.storage.models import UsageRecord


class LLMClient:
    """Wraps a provider with the response cache, budgets and usage accounting."""

    def __init__(
        self,
        provider: Provider,
        *,
        engine: Engine,
        cache: ResponseCache | None = None,
        prices: PriceTable = DEFAULT_PRICES,
        budget: Budget | None = None,
    ) -> None:
        self.provider = provider
        self.engine = engine
        self.cache = cache
        self.prices = prices
        self.budget = budget or Budget()
        # Upper-bound cost of calls already let through but not yet recorded, per plan and user,
        # so parallel calls cannot all pass the same remaining budget at once.
        self._in_flight: dict[tuple[str, int], float] = {}
        self._budget_lock = asyncio.Lock()

    async def complete(
        self,
        request: LLMRequest,
        *,
        user_id: int | None = None,
        plan_id: int | None = None,
        on_text: TextSink | None = None,
    ) -> LLMResponse:
        """Answer from the cache, or check the budget, call the provider and record the usage.

        `on_text` receives the answer's text as it is written when the provider streams, else
        (and for a cached answer) the whole text at once.
        """
        model = model_for(self.provider, request)
        key = cache_key(self.provider.name, model, request)
        if self.cache is not None:
            hit = await asyncio.to_thread(self.cache.get, key)
            if hit is not None:
                answer = hit.model_copy(update={"cached": True, "cost_usd": 0.0})
                usage = _usage_row(answer, request, 0.0, user_id, plan_id)
                await asyncio.to_thread(record_usage, self.engine, usage)
                if on_text is not None:
                    on_text(answer.text)
                return answer
        estimate = estimate_cost_usd(model, request, self.prices)
        owners = [("plan", plan_id), ("user", user_id)]
        holds = [(kind, owner) for kind, owner in owners if owner is not None]
        async with self._budget_lock:  # check and reserve as one step, or parallel calls race
            await asyncio.to_thread(
                check_budget,
                self.engine,
                self.budget,
                estimate_usd=estimate,
                user_id=user_id,
                plan_id=plan_id,
                in_flight_usd=dict(self._in_flight),
            )
            for hold in holds:
                self._in_flight[hold] = self._in_flight.get(hold, 0.0) + estimate
        try:
            started = time.perf_counter()
            answer = await self._call(request, on_text)
            latency_ms = (time.perf_counter() - started) * 1000
            answer = answer.model_copy(
                update={
                    "cached": False,
                    "cost_usd": cost_usd(answer.model, answer.usage, self.prices),
                }
            )
            usage = _usage_row(answer, request, latency_ms, user_id, plan_id)
            if self.cache is not None:
                # Answer and usage together: a resumed run neither pays twice nor loses the cost.
                await asyncio.to_thread(self.cache.put, key, answer, usage)
            else:
                await asyncio.to_thread(record_usage, self.engine, usage)
        finally:
            for hold in holds:
                self._in_flight[hold] -= estimate
        return answer

    async def _call(self, request: LLMRequest, on_text: TextSink | None) -> LLMResponse:
        if on_text is None:
            return await self.provider.complete(request)
        if streams_text(self.provider):
            return await self.provider.complete_streamed(request, on_text)
        answer = await self.provider.complete(request)
        on_text(answer.text)
        return answer


def _usage_row(
    answer: LLMResponse,
    request: LLMRequest,
    latency_ms: float,
    user_id: int | None,
    plan_id: int | None,
) -> UsageRecord:
    return UsageRecord(
        user_id=user_id,
        plan_id=plan_id,
        provider=answer.provider,
        model=answer.model[:100],
        purpose=request.purpose[:400],
        input_tokens=answer.usage.input_tokens,
        output_tokens=answer.usage.output_tokens,
        cache_read_tokens=answer.usage.cache_read_tokens,
        cache_write_tokens=answer.usage.cache_write_tokens,
        latency_ms=latency_ms,
        cost_usd=answer.cost_usd,
        cached=answer.cached,
    )


def build_cache(settings: Settings, engine: Engine) -> ResponseCache:
    """Redis when DEVMATRIX_REDIS_URL is set, else the database."""
    if settings.redis_url:
        return RedisCache(settings.redis_url, settings.cache_ttl_seconds, engine)
    return DatabaseCache(engine, settings.cache_ttl_seconds)


def build_llm_client(settings: Settings, engine: Engine) -> LLMClient:
    """The client the settings describe: selected provider, cache, price table and budgets."""
    return LLMClient(
        select_provider(settings),
        engine=engine,
        cache=build_cache(settings, engine),
        prices=load_price_table(settings.price_table),
        budget=Budget(
            per_plan_usd=settings.budget_per_plan_usd, per_user_usd=settings.budget_per_user_usd
        ),
    )
