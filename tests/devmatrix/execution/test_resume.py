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
from sqlalchemy import Engine, text
from sqlmodel import select

from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import Atom, AtomAttempt, ExecutionRun, UsageRecord

from .test_run import FIXTURES, devmatrix, scripted_env

# Kill points, each a state of the database the run must reach before it is killed. They are
# monotonic, so a resumed run may already be past one: it is then killed as soon as it starts.
KILL_POINTS = {
    "run started": "SELECT 1",
    # The atom's start, its stored request and its event are one transaction; the model call
    # follows it, so a kill here may land with a request sent but not answered.
    "a request stored": "SELECT count(*) FROM atom_attempt",
    "first atom validated": "SELECT count(*) FROM atom WHERE status = 'validated'",
    "an attempt failed": "SELECT count(*) FROM atom_attempt WHERE outcome = 'failed'",
    "all atoms generated, checks running": (
        "SELECT CASE WHEN count(*) = 4 THEN 1 ELSE 0 END FROM atom WHERE status = 'validated'"
    ),
}


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

    engine = create_db_engine(database_url)
    kills = [name for name, query in KILL_POINTS.items() if _kill_when(engine, env, out, query)]
    assert len(kills) >= 3, f"only killed at {kills}: the run finished first"

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
        assert statuses.count("stalled") == len(kills)  # each killed run was found dead
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout


def _kill_when(engine: Engine, env: dict[str, str], out: Path, query: str) -> bool:
    """Start a run, wait until its row exists and `query` returns non-zero, then SIGKILL it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devmatrix", "run", "--plan", "1", "--out", str(out)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    try:
        while process.poll() is None and time.monotonic() < deadline:
            with engine.connect() as connection:
                started = connection.execute(
                    text(
                        "SELECT count(*) FROM execution_run WHERE pid = :pid AND status = 'running'"
                    ),
                    {"pid": process.pid},
                ).scalar()
                reached = started and connection.execute(text(query)).scalar()
            if reached:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.05)
        return False
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
