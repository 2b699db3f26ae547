"""MasterPlan: phases (Setup, Core, Polish) -> milestones -> tasks, generated from a discovery.

The model's plan is checked, not hoped: every requirement is served by a task, task dependencies
name existing tasks and form no cycle, target files are safe relative paths. Problems go back to
the model (bounded); a plan is saved only whole, as version 1 with its history row.
"""

from __future__ import annotations

import graphlib
from pathlib import PurePosixPath, PureWindowsPath

from sqlmodel import Session, select

from devmatrix.planning.schemas import PHASE_NAMES, DiscoverySpec, PlanSpec
from devmatrix.planning.structured import DEFAULT_MAX_RETRIES, CompletionClient, ask_structured
from devmatrix.storage.models import (
    MasterPlan,
    MasterPlanHistory,
    MasterPlanMilestone,
    MasterPlanPhase,
    MasterPlanTask,
    MasterPlanVersion,
)

PLAN_SYSTEM = (
    "You are the planning step of a code generator. Turn the discovery document into a MasterPlan: "
    "phases named Setup, Core and Polish (in that order), each with milestones, each with tasks "
    "coded T1, T2, ... Every task lists the requirement codes it serves, the relative paths of the "
    "files it writes, and the codes of the tasks it depends on. Every requirement must be served "
    "by at least one task. List in `dependencies` the import names of third-party packages the "
    "code and its tests may use (for example fastapi, pytest). Answer with one JSON object matching the schema."
)


def unsafe_path_reason(path: str) -> str | None:
    """Why `path` is not a safe relative file path inside a workspace, or None when it is."""
    if not path or path != path.strip():
        return "is empty or has surrounding spaces"
    if "\x00" in path or "\\" in path:
        return "contains a backslash or NUL; use forward slashes"
    if path.startswith(("/", "~")) or PureWindowsPath(path).drive:
        return "is absolute; give a path relative to the project root"
    parts = PurePosixPath(path).parts
    if any(part == ".." for part in parts):
        return "climbs out of the project with '..'"
    if ".git" in parts:
        return "is inside .git"
    if path.endswith("/") or not parts or parts[-1] in {".", ""}:
        return "names a folder, not a file"
    return None


def plan_problems(plan: PlanSpec, requirement_codes: list[str]) -> list[str]:
    """Everything wrong with a plan, each problem written so the model (or a person) can fix it."""
    problems: list[str] = []
    names = [p.name for p in plan.phases]
    if len(set(names)) != len(names) or names != [n for n in PHASE_NAMES if n in names]:
        problems.append(
            f"phases must be Setup, Core, Polish, each once, in that order; got {names}"
        )
    tasks = plan.tasks()
    codes = [t.code for t in tasks]
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            problems.append(f"task code {code} is used twice; give every task its own code")
        seen.add(code)
    known_requirements = set(requirement_codes)
    for task in tasks:
        for req in task.requirements:
            if req not in known_requirements:
                problems.append(f"task {task.code} lists unknown requirement {req}")
        for dep in task.depends_on:
            if dep == task.code:
                problems.append(f"task {task.code} depends on itself")
            elif dep not in seen:
                problems.append(
                    f"task {task.code} depends on {dep}, which is not a task in the plan"
                )
        for path in task.target_files:
            reason = unsafe_path_reason(path)
            if reason:
                problems.append(f"task {task.code} target file {path!r} {reason}")
    covered = {req for task in tasks for req in task.requirements}
    for req in requirement_codes:
        if req not in covered:
            problems.append(
                f"requirement {req} is not served by any task; add it to a task's requirements"
            )
    problems.extend(_cycle_problems(plan))
    return problems


def _cycle_problems(plan: PlanSpec) -> list[str]:
    codes = {t.code for t in plan.tasks()}
    graph = {t.code: {d for d in t.depends_on if d in codes and d != t.code} for t in plan.tasks()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(str(c) for c in exc.args[1])
        return [f"task dependencies form a cycle: {cycle}; remove one of these depends_on entries"]
    return []


def plan_prompt(discovery: DiscoverySpec) -> str:
    """The user message asking for a plan: the discovery document as JSON."""
    return "Discovery document:\n\n" + discovery.model_dump_json(indent=2)


async def generate_plan(
    client: CompletionClient,
    discovery: DiscoverySpec,
    *,
    max_retries: int = DEFAULT_MAX_RETRIES,
    user_id: int | None = None,
) -> PlanSpec:
    """Ask for a MasterPlan until it passes `plan_problems` (bounded, then `PlanningError`)."""
    codes = [r.code for r in discovery.requirements]
    return await ask_structured(
        client,
        PlanSpec,
        prompt=plan_prompt(discovery),
        system=PLAN_SYSTEM,
        purpose="masterplan",
        check=lambda plan: plan_problems(plan, codes),
        max_retries=max_retries,
        user_id=user_id,
    )


def save_plan(
    session: Session,
    plan: PlanSpec,
    *,
    discovery_id: int | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    output_dir: str | None = None,
) -> MasterPlan:
    """Add a checked plan as a draft at version 1, with its rows, snapshot and history."""
    row = MasterPlan(
        title=plan.title,
        discovery_id=discovery_id,
        owner_id=owner_id,
        team_id=team_id,
        output_dir=output_dir,
        status="draft",
        version=1,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    for phase_position, phase in enumerate(plan.phases):
        phase_row = MasterPlanPhase(plan_id=row.id, position=phase_position, name=phase.name)
        session.add(phase_row)
        session.flush()
        assert phase_row.id is not None
        for milestone_position, milestone in enumerate(phase.milestones):
            session.add(
                MasterPlanMilestone(
                    phase_id=phase_row.id, position=milestone_position, name=milestone.name
                )
            )
    session.flush()
    write_task_rows(session, row.id, plan)
    record_version(session, row, plan, action="create", detail={}, actor_id=owner_id)
    return row


def milestone_ids(session: Session, plan_id: int) -> list[list[int]]:
    """Milestone row ids per phase, both in position order."""
    phases = session.exec(
        select(MasterPlanPhase).where(MasterPlanPhase.plan_id == plan_id).order_by("position")
    ).all()
    result: list[list[int]] = []
    for phase in phases:
        milestones = session.exec(
            select(MasterPlanMilestone)
            .where(MasterPlanMilestone.phase_id == phase.id)
            .order_by("position")
        ).all()
        result.append([m.id for m in milestones if m.id is not None])
    return result


def write_task_rows(session: Session, plan_id: int, plan: PlanSpec) -> None:
    """Make the task rows match `plan`: update by code, add new ones, delete dropped ones."""
    ids = milestone_ids(session, plan_id)
    existing = {
        t.code: t
        for t in session.exec(select(MasterPlanTask).where(MasterPlanTask.plan_id == plan_id)).all()
    }
    wanted: set[str] = set()
    position = 0
    for p, phase in enumerate(plan.phases):
        for m, milestone in enumerate(phase.milestones):
            for task in milestone.tasks:
                row = existing.get(task.code) or MasterPlanTask(
                    plan_id=plan_id, milestone_id=ids[p][m], code=task.code, position=0, title=""
                )
                row.milestone_id = ids[p][m]
                row.position = position
                row.title = task.title
                row.description = task.description
                row.requirement_codes = list(task.requirements)
                row.target_files = list(task.target_files)
                row.depends_on = list(task.depends_on)
                session.add(row)
                wanted.add(task.code)
                position += 1
    for code, row in existing.items():
        if code not in wanted:
            session.delete(row)
    session.flush()


def record_version(
    session: Session,
    plan_row: MasterPlan,
    plan: PlanSpec,
    *,
    action: str,
    detail: dict[str, object],
    actor_id: int | None,
) -> None:
    """Write the snapshot of the plan at its current version and the history row saying why."""
    assert plan_row.id is not None
    snapshot = {"status": plan_row.status, "plan": plan.model_dump(mode="json")}
    session.add(
        MasterPlanVersion(
            plan_id=plan_row.id,
            version=plan_row.version,
            snapshot=snapshot,
            author_id=actor_id,
            note=action,
        )
    )
    session.add(
        MasterPlanHistory(
            plan_id=plan_row.id,
            version=plan_row.version,
            action=action,
            detail=dict(detail),
            actor_id=actor_id,
        )
    )
    session.flush()
