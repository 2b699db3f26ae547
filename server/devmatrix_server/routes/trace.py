"""Traceability: a requirement's chain down to verdicts, and the atom at a file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from devmatrix.errors import NotFoundError
from devmatrix.trace import trace_location, trace_requirement
from devmatrix_server.deps import MemberAccess, ObjectId, SessionDep
from devmatrix_server.routes.atoms import atom_public
from devmatrix_server.routes.plans import team_plan
from devmatrix_server.schemas.execution import (
    AcceptanceVerdict,
    AtomTracePublic,
    RequirementTracePublic,
)
from devmatrix_server.schemas.plans import AtomPublic

router = APIRouter(prefix="/api/v1/plans", tags=["trace"])
RequirementCode = Annotated[
    str, PathParam(pattern=r"^(?i:REQ)-[0-9]{1,5}$", examples=["REQ-1"], description="REQ-n")
]


@router.get("/{plan_id}/trace/requirements/{requirement}", response_model=RequirementTracePublic)
def trace_chain(
    plan_id: ObjectId, requirement: RequirementCode, caller: MemberAccess, session: SessionDep
) -> RequirementTracePublic:
    """requirement -> tasks -> atoms (with checks per level) -> tests -> acceptance verdicts."""
    team_plan(session, plan_id, caller)
    chain = trace_requirement(session, plan_id, requirement)
    return RequirementTracePublic(
        plan_id=chain.plan_id,
        code=chain.code,
        text=chain.text,
        criteria=chain.criteria,
        tasks=chain.tasks,
        atoms=[
            AtomTracePublic(
                key=a.key,
                kind=a.kind,
                status=a.status,
                confidence=a.confidence,
                levels={str(level): ok for level, ok in a.levels.items()},
            )
            for a in chain.atoms
        ],
        tests=chain.tests,
        acceptance=[AcceptanceVerdict(file=f, passed=p) for f, p in chain.acceptance],
    )


@router.get("/{plan_id}/trace/location", response_model=AtomPublic)
def trace_line(
    plan_id: ObjectId,
    caller: MemberAccess,
    session: SessionDep,
    file: Annotated[str, Query(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$")],
    line: Annotated[int, Query(ge=1, le=10_000_000)],
) -> AtomPublic:
    """The atom whose generated code is at `file`:`line` of the plan's output folder."""
    plan = team_plan(session, plan_id, caller)
    if plan.output_dir is None:
        raise NotFoundError(f"Plan {plan_id} has not generated any files yet.", "Run it first.")
    return atom_public(trace_location(session, plan_id, Path(plan.output_dir), file, line))
