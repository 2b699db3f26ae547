"""What every table shares: the naming convention for constraints, UTC timestamps, JSON columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, Column, Table, inspect
from sqlmodel import Field, SQLModel

# Named constraints make migrations reproducible on both SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Current time, timezone-aware in UTC (SQLModel stores and returns aware datetimes)."""
    return datetime.now(UTC)


def created_at_field() -> Any:
    """A `created_at` column defaulting to now."""
    return Field(default_factory=utcnow, nullable=False)


def json_field(default_factory: Any = dict) -> Any:
    """A JSON column (lists or objects) with a Python-side default."""
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for prebuilt statements on hot paths (SQLModel does not
    type `__table__`; the mapper's table is the same object)."""
    return cast(Table, inspect(model).local_table)
