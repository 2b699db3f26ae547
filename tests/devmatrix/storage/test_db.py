"""PostgreSQL connections: pinged on checkout only after sitting idle, and replaced when the server
closed them meanwhile; a connection in steady use costs no ping round trip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from devmatrix.storage import db
from devmatrix.storage.db import create_db_engine


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
