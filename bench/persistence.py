"""Persistence variants for bench/scheduler.py: the engine's own state writes on SQLite and
PostgreSQL, per atom exactly what the runner writes around a model call (atom status, the
attempt before validation, its outcome, the validation row, and the events)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from devmatrix.events.bus import EventBus
from devmatrix.events.types import AtomStarted, AtomValidated
from devmatrix.execution.state import (
    AtomState,
    record_answer,
    record_request,
    save_atom,
    settle_attempt,
)
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import Atom, ExecutionRun, MasterPlan
from devmatrix.validation.findings import Level
from devmatrix.validation.records import pass_rows

PersistHook = Callable[[str, str], None]
CODE = "def atom() -> int:\n    return 1\n"
# The size of a real atom prompt (contract, dependencies, file so far), stored before the call.
REQUEST = {"system": "x" * 600, "messages": [{"role": "user", "content": "y" * 3000}]}


def _engine_persistence(url: str, nodes: list[str]) -> Iterator[PersistHook]:
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        plan = MasterPlan(title="bench", status="approved")
        session.add(plan)
        session.flush()
        rows = [
            Atom(
                plan_id=plan.id or 0,
                key=f"m.py::{n}",
                file="m.py",
                qualified_name=n,
                kind="function",
            )
            for n in nodes
        ]
        session.add_all(rows)
        run = ExecutionRun(plan_id=plan.id or 0)
        session.add(run)
        session.flush()
        states = {
            n: AtomState(
                id=r.id or 0,
                key=r.key,
                file=r.file,
                qualified_name=n,
                kind="function",
                signature="",
                intent="",
                uses=[],
                requirements=[],
                position=i,
                task_id=None,
                status="pending",
                code=None,
                attempts=0,
            )
            for i, (n, r) in enumerate(zip(nodes, rows, strict=True))
        }
        plan_id, run_id = plan.id or 0, run.id or 0
    bus = EventBus(engine)

    def persist(node: str, status: str) -> None:
        atom = states[node]
        if status == "started":
            save_atom(engine, atom, status="running")
            bus.publish(AtomStarted(plan_id=plan_id, payload={"atom": atom.key}))
            return
        record_request(engine, atom, run_id, REQUEST)
        record_answer(engine, atom, CODE)
        passed = pass_rows(plan_id=plan_id, level=Level.ATOM, atom_ids=[atom.id], run_id=run_id)
        settle_attempt(engine, atom, "passed", None, results=passed, status="validated", code=CODE)
        bus.publish(AtomValidated(plan_id=plan_id, payload={"atom": atom.key}))

    try:
        yield persist
    finally:
        bus.close()
        engine.dispose()


def sqlite_variant(nodes: list[str]) -> Callable[[], Iterator[PersistHook]]:
    """The embedded default: a SQLite file in a temporary folder."""

    @contextmanager
    def variant() -> Iterator[PersistHook]:
        with tempfile.TemporaryDirectory() as folder:
            yield from _engine_persistence(f"sqlite:///{Path(folder) / 'bench.db'}", nodes)

    return variant


def postgres_variant(nodes: list[str]) -> Callable[[], Iterator[PersistHook]] | None:
    """A fresh database on the PostgreSQL named by DEVMATRIX_TEST_POSTGRES_URL, if set."""
    admin_url = os.environ.get("DEVMATRIX_TEST_POSTGRES_URL")
    if not admin_url:
        return None

    @contextmanager
    def variant() -> Iterator[PersistHook]:
        name = f"dm_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            yield from _engine_persistence(url, nodes)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    return variant
