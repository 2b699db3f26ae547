"""Connections: a single statement on an autocommit connection is committed on its own (both
databases); PostgreSQL connections are pinged on checkout only after sitting idle, and replaced
when the server closed them meanwhile, so a connection in steady use costs no ping round trip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from devmatrix.storage import db, migrate
from devmatrix.storage.db import autocommit, create_db_engine, session_scope
from devmatrix.storage.models import MasterPlan


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_db_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine: Engine) -> list[int]:
    """Every ping the dialect sends, counted by wrapping the dialect's own ping."""
    sent: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        sent.append(1)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return sent


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_statement_on_an_autocommit_connection_commits_on_its_own(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'a.db'}"
        if database == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        session.add(MasterPlan(title="before"))

    with autocommit(engine) as connection:
        connection.execute(text("UPDATE masterplan SET title = 'after'"))
        with engine.connect() as other:  # another session sees it before this one ends
            seen = other.execute(text("SELECT title FROM masterplan")).scalar_one()

    assert seen == "after"
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_in_steady_use_is_not_pinged(engine: Engine, pings: list[int]) -> None:
    pids = {_backend_pid(engine) for _ in range(5)}
    assert len(pids) == 1  # last in, first out: the same warm connection each time
    assert pings == []


def test_an_idle_connection_the_server_closed_is_replaced_on_checkout(
    engine: Engine, pings: list[int], postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(engine)
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    admin.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has now been idle long enough

    second = _backend_pid(engine)  # no error: the dead connection was dropped before use

    assert second != first
    assert pings == [1]  # the failed ping; the new connection is fresh and needs none
