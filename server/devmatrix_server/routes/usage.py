"""/api/v1/usage and /api/v1/quotas: tokens, cost and runs this month, and the limits on them.

`enforce_quota` is called by chat, planning and run routes before any model call, so a spent
quota costs nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from sqlalchemy import func
from sqlmodel import Session, col, select

from devmatrix.errors import BudgetExceeded
from devmatrix.storage.models import ExecutionRun, MasterPlan, Quota, UsageRecord, User, utcnow
from devmatrix_server.deps import AdminUser, Caller, MemberAccess, ObjectId, SessionDep, get_in_team
from devmatrix_server.schemas.usage import QuotaPublic, QuotaSet, UsageSummary

router = APIRouter(prefix="/api/v1", tags=["usage"])
Scope = Literal["user", "team"]


class QuotaExceeded(BudgetExceeded):
    """A user's or team's monthly limit is spent."""


def period_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Start of this calendar month (UTC) and start of the next: when counts reset."""
    now = now or utcnow()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, following


def usage_of(session: Session, scope: Scope, owner_id: int) -> UsageSummary:
    """Calls, tokens, cost and runs of a user or a team since the period started."""
    start, resets = period_bounds()
    usage = select(
        func.count(col(UsageRecord.id)),
        func.coalesce(func.sum(col(UsageRecord.input_tokens) + col(UsageRecord.output_tokens)), 0),
        func.coalesce(func.sum(col(UsageRecord.cost_usd)), 0.0),
    ).where(col(UsageRecord.created_at) >= start)
    runs = (
        select(func.count(col(ExecutionRun.id)))
        .join(MasterPlan, col(MasterPlan.id) == col(ExecutionRun.plan_id))
        .where(col(ExecutionRun.started_at) >= start)
    )
    if scope == "user":
        usage = usage.where(UsageRecord.user_id == owner_id)
        runs = runs.where(MasterPlan.owner_id == owner_id)
    else:
        members = select(User.id).where(User.team_id == owner_id)
        usage = usage.where(col(UsageRecord.user_id).in_(members))
        runs = runs.where(MasterPlan.team_id == owner_id)
    calls, tokens, cost = session.exec(usage).one()
    return UsageSummary(
        scope=scope,
        owner_id=owner_id,
        period_start=start,
        resets_at=resets,
        calls=int(calls),
        tokens=int(tokens),
        cost_usd=float(cost),
        runs=int(session.exec(runs).one()),
    )


def _quota_row(session: Session, scope: Scope, owner_id: int) -> Quota | None:
    column = Quota.user_id if scope == "user" else Quota.team_id
    return session.exec(select(Quota).where(column == owner_id)).first()


def enforce_quota(session: Session, caller: Caller, *, run: bool = False) -> None:
    """Refuse (429) when the caller's or their team's monthly quota is spent; `run` also counts
    runs. Called before any model call."""
    for scope, owner in (("user", caller.user_id), ("team", caller.team_id)):
        quota = _quota_row(session, scope, owner)  # type: ignore[arg-type]
        if quota is None:
            continue
        used = usage_of(session, scope, owner)  # type: ignore[arg-type]
        limits = [
            ("tokens", quota.max_tokens, used.tokens),
            ("cost in USD", quota.max_cost_usd, used.cost_usd),
        ]
        if run:
            limits.append(("runs", quota.max_runs, used.runs))
        for name, limit, spent in limits:
            if limit is not None and spent >= limit:
                raise QuotaExceeded(
                    f"The {scope} quota for {name} is spent: {spent:g} of {limit:g} this month; "
                    f"it resets at {used.resets_at.isoformat()}.",
                    "Wait for the reset, or ask a team admin to raise the quota.",
                )


def _quota_public(session: Session, scope: Scope, owner_id: int) -> QuotaPublic:
    row = _quota_row(session, scope, owner_id)
    return QuotaPublic(
        scope=scope,
        owner_id=owner_id,
        period="month",
        max_tokens=row.max_tokens if row else None,
        max_cost_usd=row.max_cost_usd if row else None,
        max_runs=row.max_runs if row else None,
    )


def _set_quota(session: Session, scope: Scope, owner_id: int, data: QuotaSet) -> QuotaPublic:
    row = _quota_row(session, scope, owner_id) or (
        Quota(user_id=owner_id) if scope == "user" else Quota(team_id=owner_id)
    )
    row.max_tokens, row.max_cost_usd, row.max_runs = (
        data.max_tokens,
        data.max_cost_usd,
        data.max_runs,
    )
    session.add(row)
    session.commit()
    return _quota_public(session, scope, owner_id)


@router.get("/usage/me", response_model=UsageSummary)
def my_usage(caller: MemberAccess, session: SessionDep) -> UsageSummary:
    """The caller's calls, tokens, cost and runs this month."""
    return usage_of(session, "user", caller.user_id)


@router.get("/usage/team", response_model=UsageSummary)
def team_usage(caller: AdminUser, session: SessionDep) -> UsageSummary:
    """The caller's team's use this month (team admins)."""
    return usage_of(session, "team", caller.team_id)


@router.get("/usage/users/{user_id}", response_model=UsageSummary)
def member_usage(user_id: ObjectId, caller: AdminUser, session: SessionDep) -> UsageSummary:
    """One team member's use this month (team admins)."""
    get_in_team(session, User, user_id, caller, what="User")
    return usage_of(session, "user", user_id)


@router.get("/quotas/me", response_model=QuotaPublic)
def my_quota(caller: MemberAccess, session: SessionDep) -> QuotaPublic:
    """The caller's own monthly limits."""
    return _quota_public(session, "user", caller.user_id)


@router.get("/quotas/team", response_model=QuotaPublic)
def team_quota(caller: MemberAccess, session: SessionDep) -> QuotaPublic:
    """The caller's team's monthly limits."""
    return _quota_public(session, "team", caller.team_id)


@router.put("/quotas/team", response_model=QuotaPublic)
def set_team_quota(data: QuotaSet, caller: AdminUser, session: SessionDep) -> QuotaPublic:
    """Set the team's monthly limits (team admins)."""
    return _set_quota(session, "team", caller.team_id, data)


@router.get("/quotas/users/{user_id}", response_model=QuotaPublic)
def member_quota(user_id: ObjectId, caller: AdminUser, session: SessionDep) -> QuotaPublic:
    """A team member's monthly limits (team admins)."""
    get_in_team(session, User, user_id, caller, what="User")
    return _quota_public(session, "user", user_id)


@router.put("/quotas/users/{user_id}", response_model=QuotaPublic)
def set_member_quota(
    user_id: ObjectId, data: QuotaSet, caller: AdminUser, session: SessionDep
) -> QuotaPublic:
    """Set a team member's monthly limits (team admins)."""
    get_in_team(session, User, user_id, caller, what="User")
    return _set_quota(session, "user", user_id, data)
