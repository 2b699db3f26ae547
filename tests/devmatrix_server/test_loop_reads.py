"""LoopReads: on a SQLite file a read runs on the calling (event-loop) thread, on a connection of
its own that cannot write; a busy database or any other database sends it to a worker thread."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from devmatrix.storage.db import create_db_engine
from devmatrix_server.loop_reads import LoopReads


def make_table(path: Path) -> None:
    with sqlite3.connect(path, isolation_level=None) as raw:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE t (x INTEGER)")
        raw.execute("INSERT INTO t VALUES (1)")
    raw.close()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "reads.db"
    make_table(path)
    return path


@pytest.fixture
def engine(db_file: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{db_file}")
    yield engine
    engine.dispose()


def where_and_count(connection: Connection) -> tuple[int, int]:
    return threading.get_ident(), int(
        connection.execute(text("SELECT count(*) FROM t")).scalar_one()
    )


async def test_sqlite_file_reads_run_on_the_calling_thread(engine: Engine) -> None:
    reads = LoopReads(engine)
    assert reads.inline
    thread, count = await reads.run(where_and_count)
    assert (thread, count) == (threading.get_ident(), 1)
    reads.close()


async def test_each_read_sees_what_was_committed_before_it(engine: Engine) -> None:
    # The private connection is kept open: it must not keep an old snapshot between reads.
    reads = LoopReads(engine)
    assert (await reads.run(where_and_count))[1] == 1
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (2)"))
    assert (await reads.run(where_and_count))[1] == 2
    reads.close()


async def test_a_write_through_loop_reads_fails_and_changes_nothing(engine: Engine) -> None:
    reads = LoopReads(engine)
    with pytest.raises(OperationalError, match="readonly"):
        await reads.run(lambda connection: connection.execute(text("INSERT INTO t VALUES (9)")))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    reads.close()


async def test_a_busy_database_moves_the_read_to_a_worker_thread(db_file: Path) -> None:
    # A connection in exclusive locking mode makes every other reader busy until it closes.
    holder = sqlite3.connect(db_file, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO t VALUES (2)")
    holder.execute("COMMIT")
    release = threading.Timer(0.3, holder.close)
    release.start()
    engine = create_db_engine(f"sqlite:///{db_file}")
    reads = LoopReads(engine)
    try:
        thread, count = await reads.run(where_and_count)
    finally:
        release.join()
        reads.close()
        engine.dispose()
    assert thread != threading.get_ident()
    assert count == 2


async def test_an_in_memory_sqlite_database_is_read_in_a_worker_thread() -> None:
    # A second connection to ":memory:" would be another, empty database.
    engine = create_engine("sqlite://")
    reads = LoopReads(engine)
    assert not reads.inline
    thread = await reads.run(lambda connection: threading.get_ident())
    assert thread != threading.get_ident()
    engine.dispose()


@pytest.mark.postgres
async def test_a_database_server_is_read_in_a_worker_thread(postgres_url: str) -> None:
    engine = create_db_engine(postgres_url)
    reads = LoopReads(engine)
    assert not reads.inline
    thread, one = await reads.run(
        lambda connection: (threading.get_ident(), connection.execute(text("SELECT 1")).scalar())
    )
    assert (one, thread != threading.get_ident()) == (1, True)
    engine.dispose()
