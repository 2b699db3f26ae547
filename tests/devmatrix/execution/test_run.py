"""`devmatrix run` end to end on a small plan, with the scripted provider and the real sandbox:
a first answer that fails level 1 is retried with the validator's feedback; the generated
project passes its own tests; acceptance verdicts are stored per requirement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import col, select

from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import (
    AcceptanceTestResult,
    Atom,
    AtomAttempt,
    UsageRecord,
    ValidationResult,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "execution"


def devmatrix(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devmatrix", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
        check=False,
    )


def scripted_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {
        "DEVMATRIX_DATA_DIR": str(data_dir),
        "DEVMATRIX_LLM_PROVIDER": "scripted",
        "DEVMATRIX_SCRIPTED_ANSWERS": str(FIXTURES / "calc_answers.json"),
    }
    if database_url:
        env["DEVMATRIX_DATABASE_URL"] = database_url
    return env


def test_run_generates_validates_retries_and_accepts(tmp_path: Path) -> None:
    env = scripted_env(tmp_path / "data")
    out = tmp_path / "out"
    result = devmatrix("run", str(FIXTURES / "calc_spec.md"), "--out", str(out), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "finished" in result.stdout

    engine = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'devmatrix.db'}")
    with session_scope(engine) as session:
        atoms = {a.key: a for a in session.exec(select(Atom))}
        assert {a.status for a in atoms.values()} == {"validated"}
        mul = atoms["calc/mul.py::mul"]
        attempts = session.exec(
            select(AtomAttempt).where(AtomAttempt.atom_id == mul.id).order_by(AtomAttempt.number)
        ).all()
        assert [a.outcome for a in attempts] == ["failed", "passed"]
        assert attempts[0].feedback is not None
        assert "repeat_add" in attempts[0].feedback  # the undefined name, told to the model
        assert mul.confidence is not None
        assert mul.confidence < (atoms["calc/ops.py::add"].confidence or 0)
        results_by_outcome = session.exec(select(ValidationResult)).all()
        failed = [r for r in results_by_outcome if not r.passed]
        assert [r.code for r in failed] == ["L1-undefined-name"]
        assert {r.level for r in session.exec(select(ValidationResult))} == {1, 2, 3, 4}
        results = session.exec(select(AcceptanceTestResult)).all()
        assert len(results) == 3
        assert all(r.passed for r in results)
        generation_calls = session.exec(
            select(UsageRecord).where(UsageRecord.purpose == "atom:calc/mul.py::mul")
        ).all()
        assert len(generation_calls) == 2

    assert (out / "calc" / "mul.py").read_text().startswith("from calc.ops import add\n")

    chain = devmatrix("trace", "REQ-2", env=env)
    assert chain.returncode == 0, chain.stderr
    assert "tasks: T2" in chain.stdout
    assert "calc/mul.py::mul" in chain.stdout
    assert "tests/acceptance/test_req_2.py: pass" in chain.stdout
    back = devmatrix("trace", "calc/mul.py:6", env=env)
    assert back.returncode == 0, back.stderr
    assert "calc/mul.py::mul" in back.stdout
    assert "REQ-2" in back.stdout
    nowhere = devmatrix("trace", "calc/mul.py:1", env=env)
    assert nowhere.returncode == 1
    assert "No atom covers" in nowhere.stderr
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout
    assert "5 passed" in tests.stdout


def test_a_plan_that_is_not_approved_does_not_run(tmp_path: Path) -> None:
    env = scripted_env(tmp_path / "data")
    planned = devmatrix("plan", str(FIXTURES / "calc_spec.md"), env=env)
    assert planned.returncode == 0, planned.stderr
    result = devmatrix("run", "--plan", "1", "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 1
    assert "approve" in result.stderr
    assert not (tmp_path / "out" / "calc").exists()


def test_the_plans_size_targets_order_the_atoms_that_are_ready_together(tmp_path: Path) -> None:
    """Once `add` is done, `test_add` and `mul` are both ready. Counted in atoms, `mul` has the
    longer path left (`mul`, then `test_mul`), so it would go first; weighted by the plan's size
    targets (30 lines against 5 + 5), `test_add` does. One atom at a time shows the order."""
    answers = json.loads((FIXTURES / "calc_answers.json").read_text())
    for entry in answers["answers"]:
        if entry["purpose"].startswith("atoms:"):
            for atom in entry["answer"]["atoms"]:
                atom["size_target"] = 30 if atom["qualified_name"] == "test_add" else 5
    scripted = tmp_path / "answers.json"
    scripted.write_text(json.dumps(answers))
    env = {**scripted_env(tmp_path / "data"), "DEVMATRIX_SCRIPTED_ANSWERS": str(scripted)}
    result = devmatrix(
        "run", str(FIXTURES / "calc_spec.md"), "--out", str(tmp_path / "out"),
        "--concurrency", "1", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

    engine = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'devmatrix.db'}")
    with session_scope(engine) as session:
        targets = {a.qualified_name: a.size_target for a in session.exec(select(Atom))}
        assert targets == {"add": 5, "test_add": 30, "mul": 5, "test_mul": 5}
        calls = session.exec(
            select(UsageRecord.purpose)
            .where(col(UsageRecord.purpose).startswith("atom:"))
            .order_by(col(UsageRecord.id))
        ).all()
    first_calls = list(dict.fromkeys(calls))
    assert first_calls == [
        "atom:calc/ops.py::add",
        "atom:tests/test_ops.py::test_add",
        "atom:calc/mul.py::mul",
        "atom:tests/test_mul.py::test_mul",
    ]
