"""Shared fixtures: an isolated data folder per test, and real PostgreSQL / Redis when configured."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own DEVMATRIX_DATA_DIR and no stray provider keys from the machine."""
    data_dir = tmp_path / "devmatrix-data"
    monkeypatch.setenv("DEVMATRIX_DATA_DIR", str(data_dir))
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        keep = name.startswith("DEVMATRIX_TEST_") or name == "DEVMATRIX_DATA_DIR"
        if name.startswith("DEVMATRIX_") and not keep:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's folder
    from devmatrix.config import get_settings

    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """URL of the machine's PostgreSQL, from DEVMATRIX_TEST_POSTGRES_URL; skips when unset."""
    url = os.environ.get("DEVMATRIX_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL tests need DEVMATRIX_TEST_POSTGRES_URL (set by .ci/run)")
    return url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"dm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    """URL of the machine's Redis, from DEVMATRIX_TEST_REDIS_URL; skips when unset."""
    url = os.environ.get("DEVMATRIX_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests need DEVMATRIX_TEST_REDIS_URL (set by .ci/run)")
    return url
