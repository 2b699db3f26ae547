"""Traceability: from a requirement to the tasks, atoms, tests and verdicts that serve it, and
from a line of generated code back to the atom and requirements it comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from devmatrix.code.extract import extract_atoms
from devmatrix.code.languages import language_for
from devmatrix.errors import DevMatrixError, NotFoundError
from devmatrix.storage.models import (
    AcceptanceTest,
    AcceptanceTestResult,
    Atom,
    MasterPlan,
    MasterPlanTask,
    Requirement,
    ValidationResult,
)


class TraceError(DevMatrixError):
    """A trace target that cannot be followed."""


@dataclass
class AtomTrace:
    """One atom in a chain, with its latest check at each level."""

    key: str
    kind: str
    status: str
    confidence: float | None
    levels: dict[int, bool] = field(default_factory=dict)


@dataclass
class RequirementTrace:
    """requirement -> tasks -> atoms -> tests -> verdicts."""

    plan_id: int
    code: str
    text: str
    criteria: list[str]
    tasks: list[str]
    atoms: list[AtomTrace]
    tests: list[str]
    acceptance: list[tuple[str, bool | None]]  # (test file, passed in the latest result)


def latest_plan_id(session: Session) -> int:
    """The newest plan's id."""
    plan = session.exec(select(MasterPlan).order_by(col(MasterPlan.id).desc()).limit(1)).first()
    if plan is None or plan.id is None:
        raise NotFoundError("There is no plan yet.", "Make one with `devmatrix plan SPEC`.")
    return plan.id


def trace_requirement(session: Session, plan_id: int, code: str) -> RequirementTrace:
    """Follow a requirement (REQ-n) down to its verdicts."""
    plan = session.get(MasterPlan, plan_id)
    if plan is None:
        raise NotFoundError(f"There is no plan {plan_id}.")
    requirement = session.exec(
        select(Requirement).where(
            Requirement.discovery_id == plan.discovery_id, Requirement.code == code.upper()
        )
    ).first()
    if requirement is None:
        raise NotFoundError(f"Plan {plan_id} has no requirement {code}.", "See `devmatrix plan`.")
    tasks = [
        t.code
        for t in session.exec(
            select(MasterPlanTask)
            .where(MasterPlanTask.plan_id == plan_id)
            .order_by(col(MasterPlanTask.position))
        )
        if requirement.code in t.requirement_codes
    ]
    atoms = [
        a
        for a in session.exec(
            select(Atom).where(Atom.plan_id == plan_id).order_by(col(Atom.position))
        )
        if requirement.code in a.requirement_codes
    ]
    acceptance = []
    for test in session.exec(
        select(AcceptanceTest).where(
            AcceptanceTest.plan_id == plan_id, AcceptanceTest.requirement_code == requirement.code
        )
    ):
        last = session.exec(
            select(AcceptanceTestResult)
            .where(AcceptanceTestResult.test_id == test.id)
            .order_by(col(AcceptanceTestResult.id).desc())
        ).first()
        acceptance.append((test.file, last.passed if last else None))
    return RequirementTrace(
        plan_id=plan_id,
        code=requirement.code,
        text=requirement.text,
        criteria=list(requirement.acceptance_criteria),
        tasks=tasks,
        atoms=[_atom_trace(session, a) for a in atoms],
        tests=[a.key for a in atoms if a.kind == "test"],
        acceptance=acceptance,
    )


def _atom_trace(session: Session, atom: Atom) -> AtomTrace:
    levels: dict[int, bool] = {}
    for row in session.exec(
        select(ValidationResult)
        .where(ValidationResult.atom_id == atom.id)
        .order_by(col(ValidationResult.id))
    ):
        levels[row.level] = row.passed  # the latest result of each level wins
    return AtomTrace(atom.key, atom.kind, atom.status, atom.confidence, levels)


def trace_location(session: Session, plan_id: int, root: Path, file: str, line: int) -> Atom:
    """The atom whose code is at FILE:LINE of the generated folder `root`."""
    path = (root / file).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        raise TraceError(f"{file} is not a file of the output folder {root}.")
    spec = language_for(file)
    if spec is None:
        raise TraceError(f"{file} is not a language DevMatrix reads.")
    relative = path.relative_to(root.resolve()).as_posix()
    parsed = extract_atoms(relative, path.read_bytes(), spec)
    found = [a for a in parsed.atoms if a.start_line <= line <= a.end_line and a.kind != "imports"]
    if not found:
        raise TraceError(f"No atom covers {file}:{line}.", "Point at a line inside a definition.")
    innermost = min(found, key=lambda a: a.end_line - a.start_line)
    atom = session.exec(
        select(Atom).where(Atom.plan_id == plan_id, Atom.key == innermost.id)
    ).first()
    if atom is None:
        raise TraceError(f"{innermost.id} was not generated by plan {plan_id}.")
    return atom
