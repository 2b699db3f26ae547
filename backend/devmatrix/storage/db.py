"""Engine and session creation for SQLite (default) and PostgreSQL (by URL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

from devmatrix.errors import ConfigError

# A pooled server connection idle longer than this is checked before use (the server or a proxy
# may have closed it); one in steady use is not, which saves a round trip per transaction.
PING_AFTER_IDLE_SECONDS = 10.0


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs, the driver we install."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout so writers wait, not fail."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"DEVMATRIX_DATABASE_URL is not a database URL: {url!r}.",
            "Use sqlite:///path/to/file.db or postgresql://user@host/dbname.",
        ) from None
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        # Last in, first out: steady work reuses the same few connections, so they stay warm
        # and unpinged, while spare ones go idle and are checked when next needed.
        kwargs["pool_use_lifo"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection on checkout only when it sat idle in the pool for a while.

    `pool_pre_ping` pings on every checkout: one extra round trip per transaction. A failed ping
    here raises DisconnectionError, on which the pool drops the connection and opens another.
    """
    dialect = engine.dialect

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"pooled connection is gone: {error}") from error

    event.listen(engine.pool, "checkin", checkin)
    event.listen(engine.pool, "checkout", checkout)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A connection on which every statement commits on its own.

    For a write that is a single statement: it is its own transaction, just as durable, without
    the BEGIN and COMMIT round trips of an explicit one. Use `engine.begin()` for two or more.
    """
    with engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


_ENGINES: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One engine per database URL per process (engines hold connection pools)."""
    url = normalise_url(url)
    if url not in _ENGINES:
        _ENGINES[url] = create_db_engine(url)
    return _ENGINES[url]


def open_database(url: str) -> Engine:
    """The engine for `url`, its schema migrated to the newest revision first."""
    from devmatrix.storage.migrate import ensure_schema

    engine = engine_for(url)
    ensure_schema(engine)
    return engine
