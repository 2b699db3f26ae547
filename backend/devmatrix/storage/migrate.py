"""Schema migrations with Alembic, driven from code so `devmatrix db upgrade` needs no ini file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

import devmatrix.storage.models  # noqa: F401 - registers every table on the metadata
from devmatrix.errors import StorageError

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (default: the newest)."""
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema down to `revision` (e.g. "-1" for one step, "base" for empty)."""
    _run(engine, command.downgrade, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this version of DevMatrix."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def schema_drift(engine: Engine) -> list[Any]:
    """Differences between the models and the migrated database; empty means no drift."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def ensure_schema(engine: Engine) -> None:
    """Upgrade when the database is behind; used on start by commands that need the database."""
    if current_revision(engine) != head_revision():
        upgrade(engine)


def _run(engine: Engine, fn: Any, revision: str) -> None:
    config = _config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            fn(config, revision)
    except OperationalError as exc:
        raise StorageError(
            f"Could not migrate the database at {engine.url.render_as_string()}: {exc.orig}",
            "Check DEVMATRIX_DATABASE_URL and that the database server is running.",
        ) from None
