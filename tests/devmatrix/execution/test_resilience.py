"""Backoff with jitter and the circuit breaker, on a fake provider call and a manual clock."""

from __future__ import annotations

import pytest

from devmatrix.errors import BudgetExceeded, LLMError, ProviderUnavailable
from devmatrix.execution.resilience import (
    CircuitBreaker,
    ProviderDown,
    backoff_delay,
    call_with_backoff,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FlakyCall:
    """Fails `failures` times with `error`, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


def test_backoff_is_jittered_and_capped() -> None:
    delays = [backoff_delay(attempt, base=1.0, cap=8.0) for attempt in range(10) for _ in range(50)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # jitter: not the same delay every time
    assert max(backoff_delay(1, base=1.0, cap=60) for _ in range(200)) <= 2.0


async def test_provider_errors_are_retried_then_succeed() -> None:
    call = FlakyCall(2, LLMError("503 from the provider"))
    breaker = CircuitBreaker(threshold=5)
    assert await call_with_backoff(call, breaker, retries=3, base_delay=0.001) == "ok"
    assert call.calls == 3
    assert breaker.failures == 0  # closed again after the success


async def test_retries_are_bounded() -> None:
    call = FlakyCall(10, LLMError("still down"))
    with pytest.raises(LLMError, match="still down"):
        await call_with_backoff(call, CircuitBreaker(threshold=50), retries=2, base_delay=0.001)
    assert call.calls == 3


@pytest.mark.parametrize(
    "error", [BudgetExceeded("over budget"), ProviderUnavailable("no key set")]
)
async def test_budget_and_configuration_errors_are_not_retried(error: Exception) -> None:
    call = FlakyCall(10, error)
    with pytest.raises(type(error)):
        await call_with_backoff(call, CircuitBreaker(), retries=5, base_delay=0.001)
    assert call.calls == 1


def test_breaker_opens_at_the_threshold_and_closes_after_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=30, clock=clock)
    for _ in range(2):
        breaker.failure()
    assert not breaker.open
    breaker.failure()
    assert breaker.open
    clock.now = 29.0
    assert breaker.open
    assert breaker.wait_seconds() == pytest.approx(1.0)
    clock.now = 30.5
    assert not breaker.open  # a trial call may go through
    breaker.success()
    assert breaker.failures == 0


async def test_an_open_breaker_stops_hammering_the_provider() -> None:
    frozen = Clock()  # time does not pass, so the breaker never closes by itself
    breaker = CircuitBreaker(threshold=2, cooldown=0.01, clock=frozen)
    breaker.failure()
    breaker.failure()
    assert breaker.open
    call = FlakyCall(0, LLMError("unused"))
    with pytest.raises(ProviderDown, match="in a row"):
        await call_with_backoff(call, breaker, max_open_waits=2)
    assert call.calls == 0  # no call was made while the circuit was open
