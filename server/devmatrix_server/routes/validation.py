"""Validation results (levels 1-4) per plan and per atom."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import select

from devmatrix.storage.models import ValidationResult
from devmatrix_server.deps import MemberAccess, ObjectId, SessionDep
from devmatrix_server.pagination import Page, PageParams, paginate
from devmatrix_server.routes.atoms import team_atom
from devmatrix_server.routes.plans import team_plan
from devmatrix_server.schemas.plans import ValidationPublic

router = APIRouter(prefix="/api/v1", tags=["validation"])
Level = Annotated[int | None, Query(ge=1, le=4, description="Only this level (1-4).")]


def _public(row: ValidationResult) -> ValidationPublic:
    return ValidationPublic.model_validate(row, from_attributes=True)


@router.get("/plans/{plan_id}/validation", response_model=Page[ValidationPublic])
def plan_validation(
    plan_id: ObjectId,
    caller: MemberAccess,
    session: SessionDep,
    page: PageParams,
    level: Level = None,
    passed: bool | None = None,
) -> Page[ValidationPublic]:
    """A plan's check results, optionally of one level or only passed/failed ones."""
    team_plan(session, plan_id, caller)
    statement = select(ValidationResult).where(ValidationResult.plan_id == plan_id)
    if level is not None:
        statement = statement.where(ValidationResult.level == level)
    if passed is not None:
        statement = statement.where(ValidationResult.passed == passed)
    return paginate(session, statement, key=ValidationResult.id, page=page, to_public=_public)


@router.get("/atoms/{atom_id}/validation", response_model=Page[ValidationPublic])
def atom_validation(
    atom_id: ObjectId, caller: MemberAccess, session: SessionDep, page: PageParams
) -> Page[ValidationPublic]:
    """An atom's check results, oldest first."""
    team_atom(session, atom_id, caller)
    statement = select(ValidationResult).where(ValidationResult.atom_id == atom_id)
    return paginate(session, statement, key=ValidationResult.id, page=page, to_public=_public)
