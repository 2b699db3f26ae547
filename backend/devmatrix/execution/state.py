"""A plan's execution state as the runner sees it, loaded from and written back to the database.

Every change is written as it happens, so a run killed at any point can be resumed from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, update
from sqlmodel import Session, col, select

from devmatrix.errors import NotFoundError
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import (
    Atom,
    AtomAttempt,
    AtomDependency,
    MasterPlan,
    MasterPlanMilestone,
    MasterPlanPhase,
    MasterPlanTask,
    Requirement,
    ValidationResult,
    table_of,
    utcnow,
)

DONE_STATUSES = frozenset({"validated", "review", "approved"})
# Plain tables for the hot-path writes: Core statements skip the ORM's per-row bookkeeping.
ATOM = table_of(Atom)
ATTEMPT = table_of(AtomAttempt)
RESULT = table_of(ValidationResult)
# Built once and executed with parameters (the columns to set are the parameters' names):
# building a statement per call cost about as much as its round trip.
UPDATE_ATOM = update(ATOM).where(ATOM.c.id == bindparam("_atom_id"))
UPDATE_LATEST_ATTEMPT = update(ATTEMPT).where(
    ATTEMPT.c.atom_id == bindparam("_atom_id"), ATTEMPT.c.number == bindparam("_number")
)
INSERT_ATTEMPT = insert(ATTEMPT)
INSERT_RESULT = insert(RESULT)


@dataclass
class AtomState:
    """One atom: its contract from the plan and its progress."""

    id: int
    key: str
    file: str
    qualified_name: str
    kind: str
    signature: str
    intent: str
    uses: list[str]
    requirements: list[str]
    position: int
    task_id: int | None
    status: str
    code: str | None
    attempts: int
    feedback: str = ""
    pending_code: str | None = (
        None  # generated before a crash, or a person's edit: not validated yet
    )
    pending_source: str = "model"
    pending_request: dict[str, Any] | None = None  # sent (maybe answered) before a crash
    size_target: int = 10  # lines of body the plan asks for


@dataclass
class TaskState:
    """A task and the files it targets."""

    id: int
    code: str
    milestone_id: int
    target_files: list[str]
    atom_keys: list[str] = field(default_factory=list)


@dataclass
class PlanState:
    """Everything the runner needs about one plan."""

    plan_id: int
    team_id: int | None
    owner_id: int | None
    title: str
    atoms: dict[str, AtomState]
    edges: list[tuple[str, str]]  # (definer key, user key)
    tasks: dict[str, TaskState]
    milestones: list[int]  # in plan order
    requirements: dict[str, str]  # code -> text
    criteria: dict[str, list[str]]

    def files(self) -> list[str]:
        """Every file that has atoms, in a stable order."""
        return sorted({a.file for a in self.atoms.values()})


def load_plan_state(engine: Engine, plan_id: int) -> PlanState:
    """Read a plan's atoms, edges, tasks, milestones and requirements."""
    with session_scope(engine) as session:
        plan = session.get(MasterPlan, plan_id)
        if plan is None:
            raise NotFoundError(f"There is no plan {plan_id}.", "List plans with `devmatrix plan`.")
        atoms = {a.key: _atom_state(session, a) for a in _plan_atoms(session, plan_id)}
        by_id = {a.id: a.key for a in atoms.values()}
        edges = [
            (by_id[d.from_atom_id], by_id[d.to_atom_id])
            for d in session.exec(select(AtomDependency).where(AtomDependency.plan_id == plan_id))
        ]
        tasks = {
            t.code: TaskState(_id(t.id), t.code, t.milestone_id, list(t.target_files))
            for t in session.exec(
                select(MasterPlanTask)
                .where(MasterPlanTask.plan_id == plan_id)
                .order_by(col(MasterPlanTask.position))
            )
        }
        task_codes = {t.id: t.code for t in tasks.values()}
        for atom in sorted(atoms.values(), key=lambda a: a.position):
            if atom.task_id in task_codes:
                tasks[task_codes[atom.task_id]].atom_keys.append(atom.key)
        milestones = [
            _id(m.id)
            for m in session.exec(
                select(MasterPlanMilestone)
                .join(MasterPlanPhase)
                .where(MasterPlanPhase.plan_id == plan_id)
                .order_by(col(MasterPlanPhase.position), col(MasterPlanMilestone.position))
            )
        ]
        requirements = (
            session.exec(
                select(Requirement).where(Requirement.discovery_id == plan.discovery_id)
            ).all()
            if plan.discovery_id is not None
            else []
        )
        return PlanState(
            plan_id=plan_id,
            team_id=plan.team_id,
            owner_id=plan.owner_id,
            title=plan.title,
            atoms=atoms,
            edges=edges,
            tasks=tasks,
            milestones=milestones,
            requirements={r.code: r.text for r in requirements},
            criteria={r.code: list(r.acceptance_criteria) for r in requirements},
        )


def _plan_atoms(session: Session, plan_id: int) -> list[Atom]:
    return list(
        session.exec(select(Atom).where(Atom.plan_id == plan_id).order_by(col(Atom.position)))
    )


def _atom_state(session: Session, atom: Atom) -> AtomState:
    last = session.exec(
        select(AtomAttempt)
        .where(AtomAttempt.atom_id == atom.id)
        .order_by(col(AtomAttempt.number).desc())
        .limit(1)
    ).first()
    pending = last.code if last is not None and last.outcome == "generated" else None
    feedback = last.feedback or "" if last is not None and last.outcome == "failed" else ""
    return AtomState(
        id=_id(atom.id),
        key=atom.key,
        file=atom.file,
        qualified_name=atom.qualified_name,
        kind=atom.kind,
        signature=atom.signature,
        intent=atom.intent,
        uses=list(atom.uses),
        requirements=list(atom.requirement_codes),
        position=atom.position,
        task_id=atom.task_id,
        status=atom.status,
        code=atom.code,
        attempts=last.number if last is not None else 0,
        feedback=feedback,
        pending_code=pending,
        pending_source=last.source if last is not None and pending is not None else "model",
        pending_request=last.request if last is not None and last.outcome == "requested" else None,
        size_target=atom.size_target,
    )


def save_atom(engine: Engine, atom: AtomState, **changes: object) -> None:
    """Write an atom's status, code, confidence or error (and mirror them in memory)."""
    with engine.begin() as connection:
        update_atom(connection, atom, **changes)


# The hot-path writes below take the caller's connection, so one transaction can hold an atom's
# state change, its records and the event reporting it. They are Core statements, not ORM loads.


def update_atom(connection: Connection, atom: AtomState, **changes: object) -> None:
    """Write an atom's changed columns in the caller's transaction (and mirror them in memory)."""
    for name, value in changes.items():
        if hasattr(atom, name):
            setattr(atom, name, value)
    values = {**changes, "attempts": atom.attempts, "updated_at": utcnow()}
    connection.execute(UPDATE_ATOM, {"_atom_id": atom.id, **values})


def record_request(
    connection: Connection, atom: AtomState, run_id: int, request: dict[str, Any]
) -> int:
    """Store the request of a new model attempt before it is sent, and mark the atom running;
    returns the attempt number. The request is then the atom's pending one."""
    atom.attempts += 1
    connection.execute(
        INSERT_ATTEMPT,
        {
            "atom_id": atom.id,
            "run_id": run_id,
            "number": atom.attempts,
            "code": "",
            "source": "model",
            "outcome": "requested",
            "request": request,
            "created_at": utcnow(),
        },
    )
    update_atom(connection, atom, status="running")
    atom.pending_request = request
    return atom.attempts


def record_answer(connection: Connection, atom: AtomState, code: str) -> None:
    """Store the model's code for the latest attempt, before it is validated."""
    _update_latest_attempt(connection, atom, code=code, outcome="generated")
    atom.pending_request = None
    atom.pending_code, atom.pending_source = code, "model"


def settle_attempt(
    connection: Connection,
    atom: AtomState,
    outcome: str,
    feedback: str | None,
    *,
    results: Sequence[ValidationResult] = (),
    **changes: object,
) -> None:
    """Mark the latest attempt passed or failed (with the feedback for the next one), store its
    validation results and update the atom."""
    _update_latest_attempt(connection, atom, outcome=outcome, feedback=feedback)
    if results:
        connection.execute(INSERT_RESULT, [_row(r) for r in results])
    if changes:
        update_atom(connection, atom, **changes)
    atom.pending_code = None
    atom.feedback = feedback or ""


def _update_latest_attempt(connection: Connection, atom: AtomState, **values: object) -> None:
    params = {"_atom_id": atom.id, "_number": atom.attempts, **values}
    connection.execute(UPDATE_LATEST_ATTEMPT, params)


def _row(result: ValidationResult) -> dict[str, object]:
    values = result.model_dump(exclude={"id"})
    values["created_at"] = values.get("created_at") or utcnow()
    return values


def _id(value: int | None) -> int:
    assert value is not None
    return value
