"""Budgets per plan and per user, checked before a call from the usage already recorded.

A call is refused when what was spent, plus what calls still in flight may spend, plus the most
this call can cost (its prompt size and `max_tokens` at the model's price) would pass a limit.
A plan's own `budget_usd` takes precedence over DEVMATRIX_BUDGET_PER_PLAN_USD.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func
from sqlmodel import col, select

from devmatrix.errors import BudgetExceeded
from devmatrix.llm.cost import DEFAULT_PRICES, PriceTable, cost_usd
from devmatrix.llm.types import LLMRequest, Usage
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import MasterPlan, UsageRecord

# A token is about four characters of English or code; generous enough for an upper bound.
CHARS_PER_TOKEN = 3.5


@dataclass(frozen=True)
class Budget:
    """The limits in USD; None means unlimited."""

    per_plan_usd: float | None = None
    per_user_usd: float | None = None


def estimate_cost_usd(
    model: str, request: LLMRequest, prices: PriceTable = DEFAULT_PRICES
) -> float:
    """The most this request can cost: its prompt as input and `max_tokens` as output."""
    chars = len(request.system or "") + sum(len(m.content) for m in request.messages)
    usage = Usage(input_tokens=int(chars / CHARS_PER_TOKEN) + 1, output_tokens=request.max_tokens)
    return cost_usd(model, usage, prices)


def spent_usd(engine: Engine, *, user_id: int | None = None, plan_id: int | None = None) -> float:
    """Sum of recorded cost for a user or a plan (whichever is given)."""
    query = select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0))
    if plan_id is not None:
        query = query.where(col(UsageRecord.plan_id) == plan_id)
    if user_id is not None:
        query = query.where(col(UsageRecord.user_id) == user_id)
    with session_scope(engine) as session:
        return float(session.exec(query).one())


def plan_limit_usd(engine: Engine, plan_id: int, default: float | None) -> float | None:
    """The plan's own budget when it has one, else the configured default."""
    with session_scope(engine) as session:
        plan = session.get(MasterPlan, plan_id)
        if plan is not None and plan.budget_usd is not None:
            return plan.budget_usd
    return default


def check_budget(
    engine: Engine,
    budget: Budget,
    *,
    estimate_usd: float,
    user_id: int | None = None,
    plan_id: int | None = None,
    in_flight_usd: dict[tuple[str, int], float] | None = None,
) -> None:
    """Raise `BudgetExceeded` when this call could take the plan or the user past its limit."""
    in_flight = in_flight_usd or {}
    if plan_id is not None:
        limit = plan_limit_usd(engine, plan_id, budget.per_plan_usd)
        if limit is not None:
            spent = spent_usd(engine, plan_id=plan_id)
            pending = in_flight.get(("plan", plan_id), 0.0)
            if spent + pending + estimate_usd > limit:
                raise _exceeded(
                    f"Plan {plan_id}", spent, pending, estimate_usd, limit,
                    "raise the plan's budget_usd or DEVMATRIX_BUDGET_PER_PLAN_USD",
                )  # fmt: skip
    if user_id is not None and budget.per_user_usd is not None:
        spent = spent_usd(engine, user_id=user_id)
        pending = in_flight.get(("user", user_id), 0.0)
        if spent + pending + estimate_usd > budget.per_user_usd:
            raise _exceeded(
                f"User {user_id}", spent, pending, estimate_usd, budget.per_user_usd,
                "raise DEVMATRIX_BUDGET_PER_USER_USD",
            )  # fmt: skip


def _exceeded(
    who: str, spent: float, pending: float, estimate: float, limit: float, how: str
) -> BudgetExceeded:
    in_flight = f" (plus {_usd(pending)} in calls still running)" if pending else ""
    return BudgetExceeded(
        f"{who} has spent {_usd(spent)}{in_flight} of its {_usd(limit)} budget; the next model "
        f"call could cost up to {_usd(estimate)}, so it was not made.",
        f"To continue, {how} (unset it to remove the limit).",
    )


def _usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"
