"""/api/v1/review: atoms waiting for a person; approve, reject with a reason, or edit."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlmodel import Session, col, select

from devmatrix.errors import NotFoundError
from devmatrix.events import ReviewResolved
from devmatrix.execution.review import record_human_code, record_rejection_feedback, resolve_review
from devmatrix.storage.models import MasterPlan, ReviewItem
from devmatrix_server.deps import Caller, MemberAccess, ObjectId, SessionDep
from devmatrix_server.pagination import Page, PageParams, paginate
from devmatrix_server.routes.usage import enforce_quota
from devmatrix_server.runs import run_registry
from devmatrix_server.schemas.review import ReviewEdit, ReviewItemPublic, ReviewReject

router = APIRouter(prefix="/api/v1/review", tags=["review"])
Status = Literal["open", "approved", "rejected", "edited"]


def _public(row: ReviewItem) -> ReviewItemPublic:
    return ReviewItemPublic.model_validate(row, from_attributes=True)


def team_item(session: Session, item_id: int, caller: Caller) -> ReviewItem:
    """The review item if its plan is the caller's team's; otherwise "not found"."""
    item = session.get(ReviewItem, item_id)
    plan = session.get(MasterPlan, item.plan_id) if item is not None else None
    if item is None or plan is None or plan.team_id != caller.team_id:
        raise NotFoundError(f"Review item {item_id} does not exist.", "Check the id.")
    return item


@router.get("", response_model=Page[ReviewItemPublic])
def list_items(
    caller: MemberAccess,
    session: SessionDep,
    page: PageParams,
    status: Annotated[Status | None, Query(description="Only items in this state.")] = "open",
    plan_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Page[ReviewItemPublic]:
    """The team's review items (open ones by default), optionally of one plan."""
    plans = select(MasterPlan.id).where(MasterPlan.team_id == caller.team_id)
    statement = select(ReviewItem).where(col(ReviewItem.plan_id).in_(plans))
    if status is not None:
        statement = statement.where(ReviewItem.status == status)
    if plan_id is not None:
        statement = statement.where(ReviewItem.plan_id == plan_id)
    return paginate(session, statement, key=ReviewItem.id, page=page, to_public=_public)


@router.get("/{item_id}", response_model=ReviewItemPublic)
def read_item(item_id: ObjectId, caller: MemberAccess, session: SessionDep) -> ReviewItemPublic:
    """One review item with its proposed code, diff and validator output."""
    return _public(team_item(session, item_id, caller))


@router.post("/{item_id}/approve", response_model=ReviewItemPublic)
def approve(
    item_id: ObjectId, request: Request, caller: MemberAccess, session: SessionDep
) -> ReviewItemPublic:
    """Accept the proposed code as it is."""
    team_item(session, item_id, caller)
    session.commit()  # the engine takes its own connection; do not hold one meanwhile
    engine = run_registry(request.app.state).engine
    done = resolve_review(engine, item_id, "approved", user_id=caller.user_id)
    _announce(request, done, caller)
    return _public(done)


@router.post("/{item_id}/reject", response_model=ReviewItemPublic)
def reject(
    item_id: ObjectId,
    data: ReviewReject,
    request: Request,
    caller: MemberAccess,
    session: SessionDep,
) -> ReviewItemPublic:
    """Refuse the code with a reason; the atom is generated again with the reason as feedback."""
    item = team_item(session, item_id, caller)
    enforce_quota(session, caller, run=True)
    registry = run_registry(request.app.state)
    session.commit()  # the engine takes its own connection; do not hold one meanwhile
    done = resolve_review(
        registry.engine, item_id, "rejected", note=data.reason, user_id=caller.user_id
    )
    record_rejection_feedback(registry.engine, done.atom_id, data.reason)
    _announce(request, done, caller)
    _resume(request, item.plan_id)
    return _public(done)


@router.post("/{item_id}/edit", response_model=ReviewItemPublic)
def edit(
    item_id: ObjectId, data: ReviewEdit, request: Request, caller: MemberAccess, session: SessionDep
) -> ReviewItemPublic:
    """Replace the code by hand; it is validated by the resumed run."""
    item = team_item(session, item_id, caller)
    enforce_quota(session, caller, run=True)
    registry = run_registry(request.app.state)
    session.commit()  # the engine takes its own connection; do not hold one meanwhile
    done = resolve_review(
        registry.engine, item_id, "edited", note="edited by hand", user_id=caller.user_id
    )
    record_human_code(registry.engine, done.atom_id, data.code)
    _announce(request, done, caller)
    _resume(request, item.plan_id)
    return _public(done)


def _announce(request: Request, item: ReviewItem, caller: Caller) -> None:
    # Editors clear the item's diagnostic on this event, whoever closed it and wherever.
    bus = getattr(request.app.state, "event_bus", None)
    if bus is not None:
        payload = {"review_id": item.id, "atom_id": item.atom_id, "status": item.status}
        bus.publish(ReviewResolved(plan_id=item.plan_id, team_id=caller.team_id, payload=payload))


def _resume(request: Request, plan_id: int) -> None:
    # Resume the plan now, or once its live run ends (that run's scheduler already passed the atom).
    run_registry(request.app.state).start_or_follow(plan_id)
