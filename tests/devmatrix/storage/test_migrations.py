"""Migrations on SQLite and PostgreSQL: upgrade from empty, one step down and up, no drift."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


def test_upgrade_from_empty_reaches_head_without_drift(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert migrate.schema_drift(empty_engine) == []
    tables = set(inspect(empty_engine).get_table_names())
    assert {"user_account", "masterplan", "atom", "atom_dependency", "llm_cache_entry"} <= tables


def test_downgrade_one_step_and_up_again(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    head = migrate.head_revision()
    columns_at_head = _columns(empty_engine)
    migrate.downgrade(empty_engine, "-1")
    below = migrate.current_revision(empty_engine)
    assert below is not None
    assert below != head
    assert _columns(empty_engine) < columns_at_head  # the last revision's change is undone
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == head
    assert migrate.schema_drift(empty_engine) == []


def test_downgrade_to_base_removes_every_table(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}


def _columns(engine: Engine) -> set[tuple[str, str]]:
    schema = inspect(engine)
    return {(t, c["name"]) for t in schema.get_table_names() for c in schema.get_columns(t)}
