"""Every write leaves an AuditLog row: who, what, resource, IP, user agent, correlation id, status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from devmatrix.config import Settings, load_settings
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine
from devmatrix.storage.models import AuditLog, Team, User
from devmatrix_server.accounts import role_id, seed_roles
from devmatrix_server.deps import CurrentUser
from devmatrix_server.observability import install_ops
from devmatrix_server.problems import install_problem_handlers
from devmatrix_server.security.sessions import start_session


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path / 'audit.db'}"
    )
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def make_app(settings: Settings, engine: Engine) -> FastAPI:
    app = FastAPI()
    app.state.settings = settings
    app.state.engine = engine
    install_problem_handlers(app)
    install_ops(app, settings)

    @app.post("/api/v1/plans/{plan_id}/approve")
    def approve(plan_id: int, caller: CurrentUser) -> dict[str, Any]:
        return {"plan_id": plan_id, "by": caller.user_id}

    @app.get("/api/v1/plans/{plan_id}")
    def read(plan_id: int) -> dict[str, Any]:
        return {"plan_id": plan_id}

    return app


def add_user(engine: Engine, settings: Settings) -> tuple[User, str]:
    with Session(engine, expire_on_commit=False) as session:
        seed_roles(session)
        team = Team(name="audited")
        session.add(team)
        session.flush()
        user = User(
            username="ann",
            email="ann@example.com",
            password_hash="-",
            team_id=team.id or 0,
            role_id=role_id(session, "user"),
        )
        session.add(user)
        session.commit()
        return user, start_session(session, settings, user, ip=None, user_agent=None).access_token


def audit_rows(engine: Engine) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).order_by(col(AuditLog.id))))


def test_write_is_audited_with_actor_route_resource_and_request_facts(engine: Engine) -> None:
    settings = load_settings()
    user, token = add_user(engine, settings)
    client = TestClient(make_app(settings, engine), client=("10.1.1.1", 5000))
    response = client.post(
        "/api/v1/plans/7/approve",
        headers={
            "Authorization": f"Bearer {token}",
            "X-Correlation-ID": "audit-case-1",
            "User-Agent": "dmx-test/1.0",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-correlation-id"] == "audit-case-1"
    [row] = audit_rows(engine)
    assert row.actor_id == user.id
    assert row.team_id == user.team_id
    assert row.action == "POST /api/v1/plans/{plan_id}/approve"
    assert (row.resource_type, row.resource_id) == ("plans", "7")
    assert (row.ip, row.user_agent) == ("10.1.1.1", "dmx-test/1.0")
    assert row.correlation_id == "audit-case-1"
    assert row.detail == {"status": 200, "path": "/api/v1/plans/7/approve", "method": "POST"}
    assert row.created_at is not None


def test_refused_write_is_audited_too_and_reads_are_not(engine: Engine) -> None:
    settings = load_settings()
    client = TestClient(make_app(settings, engine))
    assert client.get("/api/v1/plans/7").status_code == 200
    assert audit_rows(engine) == []
    response = client.post("/api/v1/plans/8/approve")
    assert response.status_code == 401
    [row] = audit_rows(engine)
    assert row.actor_id is None
    assert row.detail["status"] == 401
    assert row.resource_id == "8"
    assert row.correlation_id == response.headers["x-correlation-id"]
    assert len(row.correlation_id or "") == 32  # generated when the client sent none


def test_malformed_correlation_id_is_replaced(engine: Engine) -> None:
    client = TestClient(make_app(load_settings(), engine))
    response = client.get("/api/v1/plans/1", headers={"X-Correlation-ID": "bad id\twith spaces"})
    assert response.headers["x-correlation-id"] != "bad id\twith spaces"
    assert len(response.headers["x-correlation-id"]) == 32
