"""Acceptance tests per requirement, running them, and the acceptance gate."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlmodel import Session, col, select

from devmatrix.storage.models import AcceptanceTest, AcceptanceTestResult, ExecutionRun
from devmatrix_server.deps import MemberAccess, ObjectId, SessionDep
from devmatrix_server.pagination import Page, PageParams, paginate
from devmatrix_server.routes.execution import start_run
from devmatrix_server.routes.plans import team_plan
from devmatrix_server.schemas.execution import AcceptanceGate, AcceptanceTestPublic, RunStatus

router = APIRouter(prefix="/api/v1/plans", tags=["acceptance"])


def _test_public(session: Session, test: AcceptanceTest) -> AcceptanceTestPublic:
    last = session.exec(
        select(AcceptanceTestResult)
        .where(AcceptanceTestResult.test_id == test.id)
        .order_by(col(AcceptanceTestResult.id).desc())
        .limit(1)
    ).first()
    return AcceptanceTestPublic(
        id=test.id or 0,
        requirement_code=test.requirement_code,
        name=test.name,
        file=test.file,
        code=test.code,
        passed=last.passed if last else None,
        output=last.output if last else "",
    )


@router.get("/{plan_id}/acceptance/tests", response_model=Page[AcceptanceTestPublic])
def list_tests(
    plan_id: ObjectId, caller: MemberAccess, session: SessionDep, page: PageParams
) -> Page[AcceptanceTestPublic]:
    """The plan's acceptance tests, each with its latest result."""
    team_plan(session, plan_id, caller)
    statement = select(AcceptanceTest).where(AcceptanceTest.plan_id == plan_id)
    return paginate(
        session,
        statement,
        key=AcceptanceTest.id,
        page=page,
        to_public=lambda t: _test_public(session, t),
    )


@router.post(
    "/{plan_id}/acceptance/execute",
    response_model=RunStatus,
    status_code=status.HTTP_202_ACCEPTED,
)
def execute_tests(
    plan_id: ObjectId, request: Request, caller: MemberAccess, session: SessionDep
) -> RunStatus:
    """Generate (when missing) and run the acceptance tests: a run of the plan, which ends with
    them; what is already validated is not generated again."""
    return start_run(request, session, plan_id, caller)


@router.get("/{plan_id}/acceptance/gate", response_model=AcceptanceGate)
def gate(plan_id: ObjectId, caller: MemberAccess, session: SessionDep) -> AcceptanceGate:
    """The verdict per requirement from the latest finished run; passes only if all pass."""
    team_plan(session, plan_id, caller)
    run = session.exec(
        select(ExecutionRun)
        .where(ExecutionRun.plan_id == plan_id, ExecutionRun.status == "finished")
        .order_by(col(ExecutionRun.id).desc())
        .limit(1)
    ).first()
    verdicts = dict(run.summary.get("verdicts", {})) if run is not None else {}
    passed = bool(verdicts) and all(_passed(v) for v in verdicts.values())
    return AcceptanceGate(
        plan_id=plan_id, run_id=run.id if run else None, passed=passed, verdicts=verdicts
    )


def _passed(verdict: object) -> bool:
    if isinstance(verdict, dict):
        return bool(verdict.get("passed"))
    return verdict is True or verdict == "passed"
