"""A real API over a real database (SQLite file, or PostgreSQL when configured) for server tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from devmatrix.config import load_settings
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine
from devmatrix_server.app import create_app

PASSWORD = "orbit velvet cactus lantern"
JWT_SECRET = "test-secret-" + "x" * 40


@dataclass
class Api:
    """A test client on a fresh app, with shortcuts for accounts."""

    app: FastAPI
    client: TestClient
    passwords: dict[str, str] = field(default_factory=dict)

    def session(self) -> Session:
        """A database session on the app's engine."""
        return Session(self.app.state.engine, expire_on_commit=False)

    def register(self, username: str, **extra: Any) -> dict[str, Any]:
        """Register `username` with the shared strong password; asserts success."""
        body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        answer = self.client.post("/api/v1/auth/register", json={**body, **extra})
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def login(self, username: str, **extra: Any) -> dict[str, Any]:
        """Log `username` in; asserts success and returns the token pair."""
        answer = self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD, **extra}
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def headers(self, username: str) -> dict[str, str]:
        """Authorization headers of a fresh login of `username`."""
        return {"Authorization": f"Bearer {self.login(username)['access_token']}"}

    def invite(self, admin_headers: dict[str, str], role: str = "user") -> str:
        """An invite token into the admin's team."""
        answer = self.client.post(
            "/api/v1/users/invites", json={"role": role}, headers=admin_headers
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["invite_token"])


ApiFactory = Callable[..., Api]


def _factory(url: str, apps: list[FastAPI], **defaults: Any) -> ApiFactory:
    def build(**overrides: Any) -> Api:
        settings = load_settings(
            # Rate limits have their own tests; here they would refuse the many logins.
            **{"rate_limit_enabled": False, **defaults, **overrides},
            database_url=url,
            jwt_secret=JWT_SECRET,
            argon2_profile="fast",
        )
        app = create_app(settings)
        apps.append(app)
        client = TestClient(app, client=("127.0.0.1", 50000))
        return Api(app=app, client=client)

    return build


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run; tests copy it instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "api.db"
    engine = create_db_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def _sqlite_url(template: Path, tmp_path: Path) -> str:
    target = tmp_path / "api.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgres"])
def make_api(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path
) -> Iterator[ApiFactory]:
    """Builds APIs on SQLite and (when configured) on PostgreSQL."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = _sqlite_url(migrated_sqlite, tmp_path)
    apps: list[FastAPI] = []
    yield _factory(url, apps)
    for app in apps:
        app.state.engine.dispose()


@pytest.fixture
def make_sqlite_api(tmp_path: Path, migrated_sqlite: Path) -> Iterator[ApiFactory]:
    """Builds APIs on a SQLite file only (for the bulk of the tests, which are not about SQL)."""
    apps: list[FastAPI] = []
    yield _factory(_sqlite_url(migrated_sqlite, tmp_path), apps)
    for app in apps:
        app.state.engine.dispose()


@pytest.fixture
def api(make_api: ApiFactory) -> Api:
    """A default API on SQLite and on PostgreSQL."""
    return make_api()


@pytest.fixture
def sqlite_api(make_sqlite_api: ApiFactory) -> Api:
    """A default API on SQLite."""
    return make_sqlite_api()


@pytest.fixture(scope="module")
def module_sqlite_api(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> Iterator[Api]:
    """One API shared by a module's tests; only for tests that leave its data as they found it."""
    folder = tmp_path_factory.mktemp("module-api")
    apps: list[FastAPI] = []
    yield _factory(_sqlite_url(migrated_sqlite, folder), apps, data_dir=folder / "data")()
    for app in apps:
        app.state.engine.dispose()
