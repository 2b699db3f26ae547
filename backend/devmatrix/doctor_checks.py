"""The built-in doctor checks, one per part of the system."""

from __future__ import annotations

from devmatrix.config import Settings
from devmatrix.doctor import Check, register


@register
def check_settings(settings: Settings) -> Check:
    """Settings were read and validated (they would have raised otherwise)."""
    return Check("settings", settings.env, True, f"data folder {settings.data_dir}")


@register
def check_database(settings: Settings) -> Check:
    """The database answers and its schema is at the newest revision (it is migrated if behind)."""
    from devmatrix.storage.db import engine_for
    from devmatrix.storage.migrate import ensure_schema, head_revision

    engine = engine_for(settings.effective_database_url)
    ensure_schema(engine)
    where = engine.url.render_as_string(hide_password=True)
    return Check("database", engine.dialect.name, True, f"{where} at revision {head_revision()}")
