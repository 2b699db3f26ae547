"""Validation results reach the database: a row per finding and blamed atom, passes per level."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import (
    AcceptanceTest,
    AcceptanceTestResult,
    Atom,
    MasterPlan,
    ValidationResult,
)
from devmatrix.validation.acceptance import AcceptanceOutcome
from devmatrix.validation.atom_check import check_atom, contract_of
from devmatrix.validation.findings import Code, Finding, Level
from devmatrix.validation.records import record_acceptance, record_findings, record_passes


def test_findings_and_passes_are_stored(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 't.db'}")
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        plan = MasterPlan(title="shop")
        session.add(plan)
        session.flush()
        assert plan.id is not None
        atoms = [
            Atom(
                plan_id=plan.id,
                key=f"shop/p.py::{n}",
                file="shop/p.py",
                qualified_name=n,
                kind="function",
            )
            for n in ("discount", "with_tax")
        ]
        session.add_all(atoms)
        session.flush()
        ids = {a.key: a.id for a in atoms if a.id is not None}
        finding = Finding(
            Level.TASK,
            Code.TASK_TEST_FAILED,
            "tests/test_p.py::test_x fails",
            "The test fails; change discount.",
            file="shop/p.py",
            line=3,
            atom_keys=("shop/p.py::discount",),
            details={"test_name": "test_x"},
        )
        unblamed = Finding(Level.MILESTONE, Code.LINT, "E501", "too long", file="x.py", line=1)
        record_findings(session, plan_id=plan.id, findings=[finding, unblamed], atom_ids=ids)
        record_passes(session, plan_id=plan.id, level=Level.ATOM, atom_ids=ids.values())
    with session_scope(engine) as session:
        rows = session.exec(select(ValidationResult).order_by(ValidationResult.id)).all()
    failed = [r for r in rows if not r.passed]
    assert [(r.code, r.level, r.line) for r in failed] == [
        ("L2-test-failed", 2, 3),
        ("L3-lint", 3, 1),
    ]
    assert failed[0].atom_id == ids["shop/p.py::discount"]
    assert failed[0].details["feedback"] == "The test fails; change discount."
    assert failed[0].details["test_name"] == "test_x"
    assert failed[1].atom_id is None
    assert sorted((r.code, r.atom_id) for r in rows if r.passed) == sorted(
        ("L1-passed", i) for i in ids.values()
    )


def test_acceptance_results_per_stored_test(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 't.db'}")
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        plan = MasterPlan(title="shop")
        session.add(plan)
        session.flush()
        assert plan.id is not None
        tests = [
            AcceptanceTest(
                plan_id=plan.id,
                requirement_code=f"REQ-{n}",
                name=f"test_req_{n}",
                file=f"tests/acceptance/test_req_{n}.py",
                code="...",
            )
            for n in (1, 2, 3)
        ]
        session.add_all(tests)
        session.flush()
        outcomes = [
            AcceptanceOutcome("REQ-1", "tests/acceptance/test_req_1.py::test_a", True),
            AcceptanceOutcome("REQ-2", "tests/acceptance/test_req_2.py::test_b", True),
            AcceptanceOutcome("REQ-2", "tests/acceptance/test_req_2.py::test_c", False, "E boom"),
        ]
        record_acceptance(session, tests=tests, outcomes=outcomes)
        ids = {t.id: t.requirement_code for t in tests}
    with session_scope(engine) as session:
        rows = session.exec(select(AcceptanceTestResult)).all()
    assert sorted((ids[r.test_id], r.passed, r.output) for r in rows) == [
        ("REQ-1", True, ""),
        ("REQ-2", False, "E boom"),
    ]


def test_contract_from_a_stored_atom() -> None:
    atom = Atom(
        plan_id=1,
        key="shop/p.py::discount",
        file="shop/p.py",
        qualified_name="discount",
        kind="function",
        signature="def discount(price: float, rate: float = 0.1) -> float",
        uses=["shop.money.round_cents"],
    )
    contract = contract_of(atom)
    assert contract.key == atom.key
    code = "def discount(price: float, rate: float = 0.1) -> float:\n    return round_cents(price * (1 - rate))\n"
    assert check_atom(contract, code) == []
