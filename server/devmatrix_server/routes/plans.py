"""/api/v1/plans: MasterPlans from a spec; read, versions, history; edit tasks; approve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from pydantic import ValidationError
from sqlmodel import Session, select

from devmatrix.planning.export import plan_export
from devmatrix.planning.pipeline import plan_from_spec
from devmatrix.planning.schemas import TaskSpec
from devmatrix.planning.versions import (
    add_task,
    approve_plan,
    current_plan,
    drop_task,
    edit_task,
    get_plan_version,
    next_task_code,
    reorder_tasks,
)
from devmatrix.storage.models import (
    MasterPlan,
    MasterPlanHistory,
    MasterPlanTask,
    MasterPlanVersion,
)
from devmatrix_server.deps import Caller, MemberAccess, ObjectId, SessionDep, get_in_team
from devmatrix_server.errors import InvalidInput
from devmatrix_server.pagination import Page, PageParams, paginate
from devmatrix_server.routes.usage import enforce_quota
from devmatrix_server.runs import run_registry
from devmatrix_server.schemas.plans import (
    TASK_CODE,
    HistoryPublic,
    PlanCreate,
    PlanDetail,
    PlanPublic,
    PlanVersionPublic,
    TaskAdd,
    TaskEdit,
    TaskOrder,
    TaskPublic,
)

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])
TaskCode = Annotated[str, Path(pattern=TASK_CODE, description="A task code.", examples=["T1"])]
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="A version.", examples=[1])]


def team_plan(session: Session, plan_id: int, caller: Caller) -> MasterPlan:
    """The plan if it belongs to the caller's team; otherwise "not found"."""
    return get_in_team(session, MasterPlan, plan_id, caller, what="Plan")


def plan_public(row: MasterPlan) -> PlanPublic:
    """The API view of a plan's header."""
    return PlanPublic.model_validate(row, from_attributes=True)


def _task_public(row: MasterPlanTask) -> TaskPublic:
    return TaskPublic(
        code=row.code,
        title=row.title,
        description=row.description,
        requirements=list(row.requirement_codes),
        target_files=list(row.target_files),
        depends_on=list(row.depends_on),
    )


def _committed(session: Session, row: MasterPlan) -> PlanPublic:
    session.commit()
    session.refresh(row)
    return plan_public(row)


@router.post("", response_model=PlanPublic, status_code=status.HTTP_201_CREATED)
def create_plan(
    data: PlanCreate, request: Request, caller: MemberAccess, session: SessionDep
) -> PlanPublic:
    """Discovery, MasterPlan and atom planning on a spec; the plan starts as a draft."""
    enforce_quota(session, caller)
    registry = run_registry(request.app.state)
    session.commit()  # the pipeline takes its own connections; do not hold one meanwhile
    result = registry.call(
        plan_from_spec(
            registry.client(),
            registry.engine,
            data.spec,
            owner_id=caller.user_id,
            team_id=caller.team_id,
        )
    )
    return plan_public(team_plan(session, result.plan_id, caller))


@router.get("", response_model=Page[PlanPublic])
def list_plans(caller: MemberAccess, session: SessionDep, page: PageParams) -> Page[PlanPublic]:
    """The team's plans, oldest first."""
    statement = select(MasterPlan).where(MasterPlan.team_id == caller.team_id)
    return paginate(session, statement, key=MasterPlan.id, page=page, to_public=plan_public)


@router.get("/{plan_id}", response_model=PlanDetail)
def read_plan(plan_id: ObjectId, caller: MemberAccess, session: SessionDep) -> PlanDetail:
    """Everything about a plan: requirements, phases, tasks with their atoms, graph, counts."""
    row = team_plan(session, plan_id, caller)
    export: dict[str, Any] = plan_export(session, plan_id)
    return PlanDetail(
        **plan_public(row).model_dump(),
        discovery=export["discovery"],
        plan=export["plan"],
        graph=export["graph"],
        counts=export["counts"],
    )


@router.get("/{plan_id}/tasks", response_model=Page[TaskPublic])
def list_tasks(
    plan_id: ObjectId, caller: MemberAccess, session: SessionDep, page: PageParams
) -> Page[TaskPublic]:
    """The tasks of the plan's current version."""
    team_plan(session, plan_id, caller)
    statement = select(MasterPlanTask).where(MasterPlanTask.plan_id == plan_id)
    return paginate(session, statement, key=MasterPlanTask.id, page=page, to_public=_task_public)


@router.get("/{plan_id}/versions", response_model=Page[PlanVersionPublic])
def list_versions(
    plan_id: ObjectId, caller: MemberAccess, session: SessionDep, page: PageParams
) -> Page[PlanVersionPublic]:
    """Every saved version of the plan."""
    row = team_plan(session, plan_id, caller)

    def public(version: MasterPlanVersion) -> PlanVersionPublic:
        return _version_public(session, row, version.version)

    statement = select(MasterPlanVersion).where(MasterPlanVersion.plan_id == plan_id)
    return paginate(session, statement, key=MasterPlanVersion.id, page=page, to_public=public)


def _version_public(session: Session, row: MasterPlan, version: int) -> PlanVersionPublic:
    assert row.id is not None
    found = get_plan_version(session, row.id, version)
    return PlanVersionPublic(
        plan_id=found.plan_id,
        version=found.version,
        status=found.status,
        note=found.note,
        created_at=found.created_at,
        plan=found.plan.model_dump(mode="json"),
    )


@router.get("/{plan_id}/versions/{version}", response_model=PlanVersionPublic)
def read_version(
    plan_id: ObjectId, version: VersionNumber, caller: MemberAccess, session: SessionDep
) -> PlanVersionPublic:
    """One saved version of the plan."""
    return _version_public(session, team_plan(session, plan_id, caller), version)


@router.get("/{plan_id}/history", response_model=Page[HistoryPublic])
def list_history(
    plan_id: ObjectId, caller: MemberAccess, session: SessionDep, page: PageParams
) -> Page[HistoryPublic]:
    """What changed the plan, by whom and when."""
    team_plan(session, plan_id, caller)
    statement = select(MasterPlanHistory).where(MasterPlanHistory.plan_id == plan_id)
    return paginate(
        session,
        statement,
        key=MasterPlanHistory.id,
        page=page,
        to_public=lambda h: HistoryPublic.model_validate(h, from_attributes=True),
    )


@router.patch("/{plan_id}/tasks/{code}", response_model=PlanPublic)
def update_task(
    plan_id: ObjectId, code: TaskCode, data: TaskEdit, caller: MemberAccess, session: SessionDep
) -> PlanPublic:
    """Change fields of a task; the plan gets a new version and needs approval again."""
    row = team_plan(session, plan_id, caller)
    edit_task(session, plan_id, code, data.model_dump(exclude_unset=True), actor_id=caller.user_id)
    return _committed(session, row)


@router.delete("/{plan_id}/tasks/{code}", response_model=PlanPublic)
def remove_task(
    plan_id: ObjectId, code: TaskCode, caller: MemberAccess, session: SessionDep
) -> PlanPublic:
    """Drop a task (refused while others depend on it or it alone serves a requirement)."""
    row = team_plan(session, plan_id, caller)
    drop_task(session, plan_id, code, actor_id=caller.user_id)
    return _committed(session, row)


@router.post("/{plan_id}/tasks", response_model=PlanPublic, status_code=status.HTTP_201_CREATED)
def create_task(
    plan_id: ObjectId, data: TaskAdd, caller: MemberAccess, session: SessionDep
) -> PlanPublic:
    """Add a task after task `after` or at the end of milestone `milestone` (exactly one)."""
    row = team_plan(session, plan_id, caller)
    fields = data.model_dump(exclude={"after", "milestone"})
    try:
        task = TaskSpec(code=next_task_code(current_plan(session, plan_id)), **fields)
    except ValidationError as exc:
        raise InvalidInput(
            "The task is not valid: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()),
            "Fix the fields named and send it again.",
        ) from None
    add_task(
        session, plan_id, task, after=data.after, milestone=data.milestone, actor_id=caller.user_id
    )
    return _committed(session, row)


@router.put("/{plan_id}/tasks/order", response_model=PlanPublic)
def order_tasks(
    plan_id: ObjectId, data: TaskOrder, caller: MemberAccess, session: SessionDep
) -> PlanPublic:
    """Reorder the tasks of one milestone (`order` lists all of its task codes)."""
    row = team_plan(session, plan_id, caller)
    reorder_tasks(session, plan_id, data.order, actor_id=caller.user_id)
    return _committed(session, row)


@router.post("/{plan_id}/approve", response_model=PlanPublic)
def approve(plan_id: ObjectId, caller: MemberAccess, session: SessionDep) -> PlanPublic:
    """Approve the plan's current content; only an approved plan runs."""
    row = team_plan(session, plan_id, caller)
    approve_plan(session, plan_id, actor_id=caller.user_id)
    return _committed(session, row)
