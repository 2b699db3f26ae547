"""A run killed with SIGKILL at several points resumes and finishes with no atom lost and none
generated twice, on SQLite and PostgreSQL; a dead run shows as stalled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import Atom, AtomAttempt, ExecutionRun, UsageRecord

from .test_run import FIXTURES, devmatrix, scripted_env

KILL_AFTER_SECONDS = (1.5, 3.0, 4.5, 6.0, 8.0)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'resume.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_killed_runs_resume_without_loss_or_double_generation(
    tmp_path: Path, database_url: str
) -> None:
    env = scripted_env(tmp_path / "data", database_url)
    out = tmp_path / "out"
    assert devmatrix("plan", str(FIXTURES / "calc_spec.md"), env=env).returncode == 0
    assert devmatrix("approve", "1", env=env).returncode == 0

    kills = 0
    for delay in KILL_AFTER_SECONDS:
        process = subprocess.Popen(
            [sys.executable, "-m", "devmatrix", "run", "--plan", "1", "--out", str(out)],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    assert kills >= 2, "the run finished before it could be killed; raise the plan size"

    engine = create_db_engine(database_url)
    with session_scope(engine) as session:
        runs = session.exec(select(ExecutionRun)).all()
        assert any(r.status == "running" for r in runs)  # the last killed run never closed

    resumed = devmatrix("resume", "1", env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    with session_scope(engine) as session:
        atoms = session.exec(select(Atom)).all()
        assert len(atoms) == 4
        assert {a.status for a in atoms} == {"validated"}  # no atom lost
        attempts = session.exec(select(AtomAttempt).where(AtomAttempt.source == "model")).all()
        per_atom = Counter(a.atom_id for a in attempts)
        keys = {a.id: a.key for a in atoms}
        calls = Counter(
            u.purpose
            for u in session.exec(select(UsageRecord).where(UsageRecord.cached == False))  # noqa: E712
            if u.purpose.startswith("atom:")
        )
        # Each model generation is one call and one attempt: nothing was generated twice.
        assert {f"atom:{keys[i]}": n for i, n in per_atom.items()} == dict(calls)
        assert per_atom[next(a.id for a in atoms if a.key == "calc/mul.py::mul")] == 2
        statuses = [r.status for r in session.exec(select(ExecutionRun).order_by(ExecutionRun.id))]
        assert statuses[-1] == "finished"
        assert "stalled" in statuses  # killed runs were detected and closed as stalled
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout
