"""Calling the model without hammering it: exponential backoff with jitter on provider errors,
and a circuit breaker that stops all calls for a while when the provider looks down.

The SDKs already retry single requests (honouring retry-after); this layer sits above them and
spans atoms: when many calls in a row fail, every atom waits instead of each retrying alone.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from devmatrix.errors import BudgetExceeded, LLMError, ProviderUnavailable

T = TypeVar("T")


class ProviderDown(LLMError):
    """The circuit breaker is open: the provider failed too often in a row."""


@dataclass
class CircuitBreaker:
    """Opens after `threshold` consecutive failures; lets one trial call through after `cooldown`."""

    threshold: int = 5
    cooldown: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic)

    @property
    def open(self) -> bool:
        """True while calls should not be made."""
        if self.opened_at is None:
            return False
        return self.clock() - self.opened_at < self.cooldown

    def wait_seconds(self) -> float:
        """How long until a trial call may be made (0 when closed)."""
        if self.opened_at is None:
            return 0.0
        return max(self.cooldown - (self.clock() - self.opened_at), 0.0)

    def success(self) -> None:
        """A call worked: close the circuit."""
        self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        """A call failed: count it, and open the circuit at the threshold."""
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = self.clock()


def backoff_delay(attempt: int, *, base: float = 1.0, cap: float = 60.0) -> float:
    """Full-jitter exponential backoff: a random delay in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * 2**attempt))  # noqa: S311 - jitter, not security


async def call_with_backoff(
    call: Callable[[], Awaitable[T]],
    breaker: CircuitBreaker,
    *,
    retries: int = 3,
    base_delay: float = 1.0,
    max_open_waits: int = 3,
) -> T:
    """Run `call`, retrying provider errors with backoff; budget errors are never retried."""
    attempt = 0
    open_waits = 0
    while True:
        while breaker.open:
            open_waits += 1
            if open_waits > max_open_waits:
                raise ProviderDown(
                    f"The model provider failed {breaker.failures} times in a row; giving up.",
                    "Check the provider's status and your key, then `devmatrix resume`.",
                )
            await asyncio.sleep(breaker.wait_seconds())
        try:
            result = await call()
        except (BudgetExceeded, ProviderUnavailable):
            raise  # retrying cannot help: the fix is the user's
        except LLMError:
            breaker.failure()
            if attempt >= retries:
                raise
            await asyncio.sleep(backoff_delay(attempt, base=base_delay))
            attempt += 1
            continue
        breaker.success()
        return result
