"""/api/v1/plans/{id}/execution: start, pause, resume, cancel and read a plan's run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from sqlalchemy import ColumnElement, Connection, bindparam, select
from sqlmodel import Session, col

from devmatrix.execution.pipeline import run_state
from devmatrix.storage.models import ExecutionRun, MasterPlan, table_of
from devmatrix_server.deps import Caller, MemberAccess, ObjectId, SessionDep, not_found
from devmatrix_server.loop_reads import loop_reads
from devmatrix_server.routes.plans import team_plan
from devmatrix_server.routes.usage import enforce_quota
from devmatrix_server.runs import RunRegistry, run_registry
from devmatrix_server.schemas.execution import RunStatus

router = APIRouter(prefix="/api/v1/plans", tags=["execution"])


# A plan's team and its latest run in one query of plain columns: clients poll this route.
_RUN_COLUMNS: list[ColumnElement[Any]] = list(table_of(ExecutionRun).columns)
_LATEST_RUN = (
    select(col(MasterPlan.team_id).label("plan_team_id"), *_RUN_COLUMNS)
    .select_from(MasterPlan)
    .outerjoin(ExecutionRun, col(ExecutionRun.plan_id) == col(MasterPlan.id))
    .where(col(MasterPlan.id) == bindparam("plan_id"))
    .order_by(col(ExecutionRun.id).desc())
    .limit(1)
)


def latest_team_run(connection: Connection, plan_id: int, caller: Caller) -> ExecutionRun | None:
    """The latest run of a plan of the caller's team (None before its first run)."""
    found = connection.execute(_LATEST_RUN, {"plan_id": plan_id}).first()
    if found is None or found.plan_team_id != caller.team_id:
        raise not_found("Plan", plan_id)
    if found.id is None:
        return None
    values = found._asdict()
    del values["plan_team_id"]
    return ExecutionRun(**values)


def run_status(registry: RunRegistry, session: Session, plan_id: int, caller: Caller) -> RunStatus:
    """The plan's latest run as the API shows it (`paused` while this server holds it paused)."""
    # On the request's own connection: a second one per request exhausts the pool under load.
    return status_of(registry, plan_id, latest_team_run(session.connection(), plan_id, caller))


def status_of(registry: RunRegistry, plan_id: int, run: ExecutionRun | None) -> RunStatus:
    """`run` (the plan's latest) as the API shows it, with what this server knows of it live."""
    active = registry.active(plan_id)
    if run is None or run.id is None:
        return RunStatus(plan_id=plan_id, status="starting" if active else "idle")
    state = run_state(run)
    if active is not None and state != "running":
        state = "starting"  # the new run's row is not written yet
    elif active is not None and active.control.paused:
        state = "paused"
    return RunStatus(
        plan_id=plan_id,
        run_id=run.id,
        status=state,
        started_at=run.started_at,
        finished_at=run.finished_at,
        cost_usd=run.cost_usd,
        summary=run.summary,
    )


def start_run(request: Request, session: Session, plan_id: int, caller: Caller) -> RunStatus:
    """Start or resume the run of an approved plan of the caller's team, quota permitting."""
    team_plan(session, plan_id, caller)
    enforce_quota(session, caller, run=True)
    registry = run_registry(request.app.state)
    session.commit()  # hand the connection back before the registry takes its own
    registry.start(plan_id)
    return run_status(registry, session, plan_id, caller)


@router.get("/{plan_id}/execution", response_model=RunStatus)
async def read_status(plan_id: ObjectId, request: Request, caller: MemberAccess) -> RunStatus:
    """The plan's latest run: status (`stalled` when its process died), counts, cost."""
    # Clients poll this route: one query, through LoopReads (no worker-thread trip on SQLite).
    run = await loop_reads(request.app.state).run(
        lambda connection: latest_team_run(connection, plan_id, caller)
    )
    return status_of(run_registry(request.app.state), plan_id, run)


@router.post(
    "/{plan_id}/execution/start", response_model=RunStatus, status_code=status.HTTP_202_ACCEPTED
)
def start(
    plan_id: ObjectId, request: Request, caller: MemberAccess, session: SessionDep
) -> RunStatus:
    """Start (or resume after a stop) generating an approved plan in the background."""
    return start_run(request, session, plan_id, caller)


def _control(
    request: Request, session: Session, plan_id: int, caller: Caller, action: str
) -> RunStatus:
    team_plan(session, plan_id, caller)
    registry = run_registry(request.app.state)
    registry.control(plan_id, action)
    return run_status(registry, session, plan_id, caller)


@router.post("/{plan_id}/execution/pause", response_model=RunStatus)
def pause(
    plan_id: ObjectId, request: Request, caller: MemberAccess, session: SessionDep
) -> RunStatus:
    """Start no new atom; atoms already running finish."""
    return _control(request, session, plan_id, caller, "pause")


@router.post("/{plan_id}/execution/resume", response_model=RunStatus)
def resume(
    plan_id: ObjectId, request: Request, caller: MemberAccess, session: SessionDep
) -> RunStatus:
    """Let a paused run start atoms again."""
    return _control(request, session, plan_id, caller, "resume")


@router.post("/{plan_id}/execution/cancel", response_model=RunStatus)
def cancel(
    plan_id: ObjectId, request: Request, caller: MemberAccess, session: SessionDep
) -> RunStatus:
    """Stop the run: nothing new starts and running atoms are cancelled; start resumes later."""
    return _control(request, session, plan_id, caller, "cancel")
