"""Plan versions: edit, reorder, drop, add and approve, each a new snapshot with a history row.

The newest snapshot is the plan's source of truth; task rows are kept in step with it. Every
change is checked like a generated plan (coverage, dependencies, safe paths) before it is
written. Editing an approved plan returns it to draft; only a plan approved at its current
version can run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from devmatrix.errors import NotFoundError
from devmatrix.planning.atom_graph import refresh_graph
from devmatrix.planning.errors import PlanningError, PlanNotRunnable
from devmatrix.planning.masterplan import plan_problems, record_version, write_task_rows
from devmatrix.planning.schemas import PlanSpec, TaskSpec
from devmatrix.storage.models import (
    MasterPlan,
    MasterPlanHistory,
    MasterPlanVersion,
    Requirement,
    utcnow,
)

Change = Callable[[PlanSpec], PlanSpec]


@dataclass(frozen=True)
class PlanVersion:
    """One readable version of a plan."""

    plan_id: int
    version: int
    status: str
    plan: PlanSpec
    note: str
    created_at: datetime


def get_plan(session: Session, plan_id: int) -> MasterPlan:
    """The plan row, or `NotFoundError`."""
    plan = session.get(MasterPlan, plan_id)
    if plan is None:
        raise NotFoundError(f"There is no plan {plan_id}.", "List plans or check the id.")
    return plan


def get_plan_version(session: Session, plan_id: int, version: int) -> PlanVersion:
    """The plan exactly as it was at `version` (old versions stay readable)."""
    row = session.exec(
        select(MasterPlanVersion).where(
            MasterPlanVersion.plan_id == plan_id, MasterPlanVersion.version == version
        )
    ).first()
    if row is None:
        raise NotFoundError(f"Plan {plan_id} has no version {version}.")
    return PlanVersion(
        plan_id=plan_id,
        version=row.version,
        status=str(row.snapshot.get("status", "draft")),
        plan=PlanSpec.model_validate(row.snapshot["plan"]),
        note=row.note,
        created_at=row.created_at,
    )


def current_plan(session: Session, plan_id: int) -> PlanSpec:
    """The plan at its newest version."""
    return get_plan_version(session, plan_id, get_plan(session, plan_id).version).plan


def plan_history(session: Session, plan_id: int) -> list[MasterPlanHistory]:
    """Every change of a plan, oldest first."""
    rows = session.exec(select(MasterPlanHistory).where(MasterPlanHistory.plan_id == plan_id)).all()
    return sorted(rows, key=lambda h: (h.version, h.id or 0))


def ensure_runnable(plan: MasterPlan) -> None:
    """Raise `PlanNotRunnable` unless the plan is approved at its current version."""
    if plan.approved_version is None or plan.approved_version != plan.version:
        raise PlanNotRunnable(
            f"Plan {plan.id} is {plan.status} at version {plan.version} and has not been "
            "approved in this version, so it cannot run.",
            f"Review it, then approve it: `devmatrix approve {plan.id}`.",
        )


def approve_plan(session: Session, plan_id: int, *, actor_id: int | None = None) -> MasterPlan:
    """Approve the current content as a new version; approving twice changes nothing."""
    plan = get_plan(session, plan_id)
    if plan.approved_version == plan.version:
        return plan
    spec = current_plan(session, plan_id)
    problems = plan_problems(spec, _requirement_codes(session, plan, spec))
    if problems:
        raise PlanningError(f"Plan {plan_id} cannot be approved.", problems=problems)
    plan.version += 1
    plan.status = "approved"
    plan.approved_version = plan.version
    plan.updated_at = utcnow()
    session.add(plan)
    record_version(session, plan, spec, action="approve", detail={}, actor_id=actor_id)
    return plan


def edit_task(
    session: Session,
    plan_id: int,
    code: str,
    changes: dict[str, Any],
    *,
    actor_id: int | None = None,
) -> MasterPlan:
    """Change fields of a task (title, description, requirements, target_files, depends_on)."""
    if "code" in changes and changes["code"] != code:
        raise PlanningError("A task's code cannot change.", "Drop the task and add a new one.")

    def change(spec: PlanSpec) -> PlanSpec:
        old = _find_task(spec, code)
        try:
            new = TaskSpec.model_validate({**old.model_dump(), **changes})
        except ValidationError as exc:
            raise PlanningError(
                f"The edit of task {code} is not valid.",
                problems=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()],
            ) from None
        return _map_tasks(spec, lambda t: [new] if t.code == code else [t])

    return _apply(session, plan_id, change, "edit", {"task": code, "changes": changes}, actor_id)


def drop_task(
    session: Session, plan_id: int, code: str, *, actor_id: int | None = None
) -> MasterPlan:
    """Remove a task; refused while other tasks depend on it or it alone serves a requirement."""

    def change(spec: PlanSpec) -> PlanSpec:
        _find_task(spec, code)
        needed_by = [t.code for t in spec.tasks() if code in t.depends_on]
        if needed_by:
            raise PlanningError(
                f"Task {code} cannot be dropped: {', '.join(needed_by)} depend on it.",
                f"Edit their depends_on first, or drop them before {code}.",
            )
        return _map_tasks(spec, lambda t: [] if t.code == code else [t])

    return _apply(session, plan_id, change, "drop", {"task": code}, actor_id)


def add_task(
    session: Session,
    plan_id: int,
    task: TaskSpec,
    *,
    after: str | None = None,
    milestone: str | None = None,
    actor_id: int | None = None,
) -> MasterPlan:
    """Insert a task right after task `after`, or at the end of the milestone named `milestone`."""
    if (after is None) == (milestone is None):
        raise PlanningError("Say where the task goes: give exactly one of `after` or `milestone`.")

    def change(spec: PlanSpec) -> PlanSpec:
        if any(t.code == task.code for t in spec.tasks()):
            raise PlanningError(f"Task {task.code} already exists.", f"Use {next_task_code(spec)}.")
        if after is not None:
            _find_task(spec, after)
            return _map_tasks(spec, lambda t: [t, task] if t.code == after else [t])
        copy = spec.model_copy(deep=True)
        for phase in copy.phases:
            for stone in phase.milestones:
                if stone.name == milestone:
                    stone.tasks.append(task)
                    return copy
        raise PlanningError(f"The plan has no milestone named {milestone!r}.")

    detail = {"task": task.code, "after": after, "milestone": milestone}
    return _apply(session, plan_id, change, "add", detail, actor_id)


def reorder_tasks(
    session: Session, plan_id: int, order: list[str], *, actor_id: int | None = None
) -> MasterPlan:
    """Reorder the tasks of one milestone; `order` lists all of that milestone's task codes."""

    def change(spec: PlanSpec) -> PlanSpec:
        copy = spec.model_copy(deep=True)
        for phase in copy.phases:
            for stone in phase.milestones:
                codes = [t.code for t in stone.tasks]
                if order and order[0] in codes:
                    if sorted(order) != sorted(codes):
                        raise PlanningError(
                            f"The new order must list exactly the tasks of milestone "
                            f"{stone.name!r}: {', '.join(codes)}."
                        )
                    by_code = {t.code: t for t in stone.tasks}
                    stone.tasks = [by_code[c] for c in order]
                    return copy
        raise PlanningError(f"No milestone holds task {order[0] if order else '(none)'}.")

    return _apply(session, plan_id, change, "reorder", {"order": order}, actor_id)


def next_task_code(spec: PlanSpec) -> str:
    """The first unused task code after the highest one (T1, T2, ...)."""
    numbers = [int(t.code[1:]) for t in spec.tasks()]
    return f"T{max(numbers, default=0) + 1}"


def _apply(
    session: Session,
    plan_id: int,
    change: Change,
    action: str,
    detail: dict[str, Any],
    actor_id: int | None,
) -> MasterPlan:
    plan = get_plan(session, plan_id)
    assert plan.id is not None
    spec = change(current_plan(session, plan_id))
    problems = plan_problems(spec, _requirement_codes(session, plan, spec))
    if problems:
        raise PlanningError(
            f"The {action} was refused: plan {plan_id} would no longer be valid.", problems=problems
        )
    write_task_rows(session, plan.id, spec)
    # A dropped task takes its atoms with it (database cascade); keep the graph in step.
    refresh_graph(session, plan.id)
    plan.version += 1
    # An edited plan must be reviewed again before it can run.
    plan.status = "draft"
    plan.approved_version = None
    plan.title = spec.title
    plan.updated_at = utcnow()
    session.add(plan)
    record_version(session, plan, spec, action=action, detail=detail, actor_id=actor_id)
    return plan


def _requirement_codes(session: Session, plan: MasterPlan, spec: PlanSpec) -> list[str]:
    if plan.discovery_id is None:
        return sorted({r for t in spec.tasks() for r in t.requirements})
    rows = session.exec(
        select(Requirement).where(Requirement.discovery_id == plan.discovery_id)
    ).all()
    return [r.code for r in rows]


def _find_task(spec: PlanSpec, code: str) -> TaskSpec:
    for task in spec.tasks():
        if task.code == code:
            return task
    raise PlanningError(f"The plan has no task {code}.")


def _map_tasks(spec: PlanSpec, fn: Callable[[TaskSpec], list[TaskSpec]]) -> PlanSpec:
    copy = spec.model_copy(deep=True)
    for phase in copy.phases:
        for stone in phase.milestones:
            stone.tasks = [new for task in stone.tasks for new in fn(task)]
    return copy
