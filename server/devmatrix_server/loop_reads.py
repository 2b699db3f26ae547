"""Short reads on the request path (who is calling, a run's status), run where they cost least.

FastAPI runs every `def` dependency and route in a worker thread. Measured under load, that trip
cost more than a primary-key read in SQLite, and it made the latency tail: the worker threads
queue for the GIL behind the event loop, in no fair order (an authenticated GET made six trips;
the health route alone served 2.4x more requests once it stopped making one).

So on a SQLite file these reads run on the event loop itself, on a connection of their own that
is outside the request pool (the loop never waits for a connection a request holds) and is
`query_only` (a write through it fails instead of waiting for the write lock). A read never waits
for a lock there either: when SQLite says busy, the read is retried in a worker thread. Other
databases answer over the network, so their reads still go to a worker thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool
from starlette.concurrency import run_in_threadpool

Result = TypeVar("Result")
Read = Callable[[Connection], Result]
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


class LoopReads:
    """Runs `read(connection)` inline on a private SQLite connection, else in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        database = engine.url.database
        self.inline = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
        self._reader: Engine | None = _read_only_engine(engine) if self.inline else None
        # Several event loops may share an app (a test client runs one per request): the one
        # connection serves whoever holds this lock; the others take the worker-thread path.
        self._lock = threading.Lock()

    async def run(self, read: Read[Result]) -> Result:
        """The result of `read(connection)`; `read` must only read, and be short."""
        if self._reader is not None and self._lock.acquire(blocking=False):
            try:
                with self._reader.connect() as connection:
                    return read(connection)
            except OperationalError as exc:
                if getattr(exc.orig, "sqlite_errorcode", None) not in _BUSY:
                    raise
            finally:
                self._lock.release()
        return await run_in_threadpool(self._in_thread, read)

    def _in_thread(self, read: Read[Result]) -> Result:
        with self.engine.connect() as connection:
            return read(connection)

    def close(self) -> None:
        """Close the private connection (the app is shutting down)."""
        if self._reader is not None:
            self._reader.dispose()


def loop_reads(app_state: Any) -> LoopReads:
    """The app's `LoopReads` over its engine, made on first use."""
    reads: LoopReads | None = getattr(app_state, "reads", None)
    if reads is None:
        reads = LoopReads(app_state.engine)
        app_state.reads = reads
    return reads


def _read_only_engine(engine: Engine) -> Engine:
    # timeout=0: a busy database answers at once (and the read moves to a thread), never stalls
    # the loop; check_same_thread is off because successive test loops live in different threads.
    reader = create_engine(
        engine.url,
        poolclass=StaticPool,
        connect_args={"check_same_thread": False, "timeout": 0},
    )
    event.listen(reader, "connect", _query_only)
    return reader


def _query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()
