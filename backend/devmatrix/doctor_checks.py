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


@register
def check_events(settings: Settings) -> Check:
    """The event bus can read its log and, with Redis configured, reach Redis."""
    from devmatrix.events import build_event_bus
    from devmatrix.storage.db import open_database

    bus = build_event_bus(settings, open_database(settings.effective_database_url))
    try:
        return Check("events", bus.implementation, True, bus.check())
    except Exception as exc:  # noqa: BLE001 - the doctor shows the failure with the implementation
        return Check("events", bus.implementation, False, f"{type(exc).__name__}: {exc}")
    finally:
        bus.close()


@register
def check_model_provider(settings: Settings) -> Check:
    """Which model provider and model are active, whether the key is set, and whether it answers."""
    from devmatrix.llm.checks import model_provider_check

    return model_provider_check(settings)


@register
def check_cache(settings: Settings) -> Check:
    """Which response cache is active (database or Redis) and whether it answers."""
    from devmatrix.llm.checks import cache_check

    return cache_check(settings)


@register
def check_sandbox(settings: Settings) -> Check:
    """Which protections the sandbox for generated code has here, observed from inside a probe."""
    from devmatrix.sandbox import sandbox_capabilities

    caps = sandbox_capabilities()
    names = (
        "separate_uid",
        "network_isolated",
        "filesystem_read_only_outside_box",
        "pid_namespace",
    )
    missing = [name for name in names if not caps[name]]
    detail = "all protections active" if not missing else f"WITHOUT {', '.join(missing)}"
    if caps["note"]:
        detail += f" ({caps['note']})"
    return Check("sandbox", str(caps["mode"]), True, detail)


@register
def check_vectors(settings: Settings) -> Check:
    """Chroma opens (embedded folder or server URL) and the offline embedding model loads."""
    from devmatrix.retrieval.store import ExampleStore

    store = ExampleStore(settings)
    kind = "chroma server" if settings.chroma_url else "chroma embedded"
    return Check("vectors", kind, True, f"{store.implementation}, {store.count()} examples")
