"""Persistence variants for bench/scheduler.py: the engine's own state writes on SQLite and
PostgreSQL, per atom exactly what the runner writes around a model call (atom status, the
attempt before validation, its outcome, the validation row, and the events)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from devmatrix.events.bus import EventBus
from devmatrix.events.types import AtomStarted, AtomValidated
from devmatrix.execution.state import (
    AtomState,
    record_answer,
    record_request,
    settle_attempt,
)
from devmatrix.storage import migrate
from devmatrix.storage.db import autocommit, create_db_engine, session_scope
from devmatrix.storage.models import Atom, ExecutionRun, MasterPlan
from devmatrix.validation.findings import Level
from devmatrix.validation.records import pass_rows

PersistHook = Callable[[str, str], None]
WRITE_COUNTS = ("statements", "transactions", "pings")
CODE = "def atom() -> int:\n    return 1\n"
# The size of a real atom prompt (contract, dependencies, file so far), stored before the call.
REQUEST = {"system": "x" * 600, "messages": [{"role": "user", "content": "y" * 3000}]}


@dataclass
class Persistence:
    """The per-atom write hook and what it cost the database: statements sent, transactions
    (each a BEGIN and a COMMIT), and liveness pings on connection checkout."""

    persist: PersistHook
    counts: Counter[str] = field(default_factory=Counter)

    def round_trips(self) -> int:
        """Client-server waits on a networked database: every statement, BEGIN, COMMIT and ping."""
        c = self.counts
        return c["statements"] + 2 * c["transactions"] + c["pings"]


def _count_writes(engine: Engine, counts: Counter[str]) -> None:
    """Count through SQLAlchemy's events; pings have none, so the dialect's ping is wrapped."""
    dialect = engine.dialect
    ping = dialect.do_ping

    def statement(*_args: Any) -> None:
        counts["statements"] += 1

    def begin(connection: Connection) -> None:
        # A statement on an autocommit connection is its own transaction: no BEGIN, no COMMIT.
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counts["transactions"] += 1

    def counted_ping(dbapi_connection: Any) -> bool:
        counts["pings"] += 1
        return ping(dbapi_connection)

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", begin)
    dialect.do_ping = counted_ping  # type: ignore[method-assign]


def _engine_persistence(url: str, nodes: list[str]) -> Iterator[Persistence]:
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
        # The runner's transactions (PlanRun.start, next_code, produce) with the same writes.
        atom = states[node]
        if status == "started":
            with bus.transaction([AtomStarted(plan_id=plan_id, payload={"atom": atom.key})]) as c:
                record_request(c, atom, run_id, REQUEST)
            return
        with autocommit(engine) as connection:
            record_answer(connection, atom, CODE)
        passed = pass_rows(plan_id=plan_id, level=Level.ATOM, atom_ids=[atom.id], run_id=run_id)
        validated = AtomValidated(plan_id=plan_id, payload={"atom": atom.key})
        with bus.transaction([validated]) as connection:
            settle_attempt(
                connection, atom, "passed", None, results=passed, status="validated", code=CODE
            )

    measured = Persistence(persist)
    _count_writes(engine, measured.counts)
    try:
        yield measured
    finally:
        bus.close()
        engine.dispose()


def sqlite_variant(nodes: list[str]) -> Callable[[], Iterator[Persistence]]:
    """The embedded default: a SQLite file in a temporary folder."""

    @contextmanager
    def variant() -> Iterator[Persistence]:
        with tempfile.TemporaryDirectory() as folder:
            yield from _engine_persistence(f"sqlite:///{Path(folder) / 'bench.db'}", nodes)

    return variant


def postgres_variant(nodes: list[str]) -> Callable[[], Iterator[Persistence]] | None:
    """A fresh database on the PostgreSQL named by DEVMATRIX_TEST_POSTGRES_URL, if set."""
    admin_url = os.environ.get("DEVMATRIX_TEST_POSTGRES_URL")
    if not admin_url:
        return None

    @contextmanager
    def variant() -> Iterator[Persistence]:
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
