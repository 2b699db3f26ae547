"""Rate limits in-process: tiers per IP and per user, stricter auth routes, 429 + Retry-After; CORS."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.websockets import WebSocketDisconnect

from devmatrix.config import Settings, load_settings
from devmatrix.errors import ConfigError
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine
from devmatrix.storage.models import Team, User
from devmatrix_server.accounts import role_id, seed_roles
from devmatrix_server.observability import install_ops
from devmatrix_server.ratelimit import MemoryRateLimiter, Rate, RedisRateLimiter, parse_rate
from devmatrix_server.security.sessions import start_session
from devmatrix_server.security.tokens import create_token


def make_app(settings: Settings, engine: Engine) -> FastAPI:
    app = FastAPI()
    app.state.settings = settings
    app.state.engine = engine
    install_ops(app, settings)

    @app.get("/api/v1/things")
    def things() -> dict[str, Any]:
        return {"ok": True}

    @app.post("/api/v1/auth/login")
    def login() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/api/v1/health/live")
    def live() -> dict[str, Any]:
        return {"ok": True}

    return app


def add_user(engine: Engine, settings: Settings, name: str, role: str) -> str:
    """A user of `role`; returns a fresh access token."""
    with Session(engine, expire_on_commit=False) as session:
        seed_roles(session)
        team = Team(name=f"team-{name}")
        session.add(team)
        session.flush()
        user = User(
            username=name,
            email=f"{name}@example.com",
            password_hash="-",
            team_id=team.id or 0,
            role_id=role_id(session, role),
        )
        session.add(user)
        session.commit()
        return start_session(session, settings, user, ip=None, user_agent=None).access_token


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'rl.db'}")
    migrate.upgrade(engine)
    return engine


def settings_with(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "rate_limit_anonymous": "3/minute",
        "rate_limit_user": "5/minute",
        "rate_limit_admin": "8/minute",
        "rate_limit_auth": "2/minute",
    }
    return load_settings(**{**base, **overrides})


def statuses(client: TestClient, n: int, path: str = "/api/v1/things", **kw: Any) -> list[int]:
    return [client.get(path, **kw).status_code for _ in range(n)]


def test_anonymous_tier_is_per_ip_and_answers_problem_with_retry_after(engine: Engine) -> None:
    app = make_app(settings_with(), engine)
    client = TestClient(app, client=("10.0.0.1", 1234))
    other_ip = TestClient(app, client=("10.0.0.2", 1234))
    assert statuses(client, 4) == [200, 200, 200, 429]
    refused = client.get("/api/v1/things")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    body = refused.json()
    assert body["status"] == 429
    assert body["type"] == "urn:devmatrix:problem:rate-limited"
    assert "3 requests per 60 seconds" in body["detail"]
    assert statuses(other_ip, 1) == [200]  # another address has its own window
    assert statuses(client, 2, "/api/v1/health/live") == [200, 200]  # probes are exempt


def test_user_and_admin_tiers_are_per_user_not_per_ip(engine: Engine) -> None:
    settings = settings_with()
    app = make_app(settings, engine)
    alice = add_user(engine, settings, "alice", "user")
    root = add_user(engine, settings, "root", "admin")
    client = TestClient(app, client=("10.0.0.9", 1))
    assert statuses(client, 6, headers={"Authorization": f"Bearer {alice}"}) == [200] * 5 + [429]
    assert statuses(client, 9, headers={"Authorization": f"Bearer {root}"}) == [200] * 8 + [429]
    # Same IP, no token: the anonymous window of that IP was not consumed by the users.
    assert statuses(client, 1) == [200]


def test_personal_access_token_counts_for_its_user(engine: Engine) -> None:
    settings = settings_with()
    app = make_app(settings, engine)
    jwt = add_user(engine, settings, "bob", "user")
    with Session(engine, expire_on_commit=False) as session:
        user = session.exec(select(User).where(User.username == "bob")).one()
        pat, _ = create_token(session, user=user, name="editor", scopes=["read"], expires_in_days=1)
    client = TestClient(app)
    assert statuses(client, 3, headers={"Authorization": f"Bearer {pat}"}) == [200] * 3
    # Token and login share one user window of 5.
    assert statuses(client, 3, headers={"Authorization": f"Bearer {jwt}"}) == [200, 200, 429]


def test_forged_token_is_treated_as_anonymous(engine: Engine) -> None:
    app = make_app(settings_with(), engine)
    client = TestClient(app)
    forged = {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."}
    assert statuses(client, 4, headers=forged) == [200, 200, 200, 429]


def test_auth_routes_are_stricter(engine: Engine) -> None:
    app = make_app(settings_with(), engine)
    client = TestClient(app)
    codes = [client.post("/api/v1/auth/login").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_disabled_rate_limit_lets_everything_through(engine: Engine) -> None:
    app = make_app(settings_with(rate_limit_enabled=False), engine)
    assert statuses(TestClient(app), 10) == [200] * 10


async def test_sliding_window_frees_slots_as_old_hits_leave() -> None:
    limiter = MemoryRateLimiter()
    rate = Rate(2, 0.3)
    assert [(await limiter.hit("k", rate)).allowed for _ in range(3)] == [True, True, False]
    refused = await limiter.hit("k", rate)
    assert 0 < refused.retry_after <= 0.3
    await asyncio.sleep(0.32)
    assert (await limiter.hit("k", rate)).allowed


def test_parse_rate_reads_units_and_refuses_garbage() -> None:
    assert parse_rate("120/minute") == Rate(120, 60)
    assert parse_rate("5 / 10 seconds") == Rate(5, 10)
    assert parse_rate("1000/hour") == Rate(1000, 3600)
    for bad in ("fast", "0/minute", "10/fortnight"):
        with pytest.raises(ConfigError):
            parse_rate(bad)


def test_bad_tier_setting_fails_at_start(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="DEVMATRIX_RATE_LIMIT_USER"):
        TestClient(make_app(settings_with(rate_limit_user="lots"), engine)).get("/")


def test_cors_allows_exactly_the_configured_origins(engine: Engine) -> None:
    app = make_app(settings_with(cors_origins=["https://app.example.com"]), engine)
    client = TestClient(app)
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = client.options(
        "/api/v1/things", headers={"Origin": "https://app.example.com", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    refused = client.options(
        "/api/v1/things", headers={"Origin": "https://evil.example.com", **preflight}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    simple = client.get("/api/v1/things", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in simple.headers


async def test_unreachable_redis_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", "test:down")
    decision = await limiter.hit("k", Rate(1, 60))
    assert decision.allowed
    assert "rate limit not applied" in caplog.text


def test_websocket_connection_attempts_are_limited_per_ip(engine: Engine) -> None:
    app = make_app(settings_with(), engine)
    client = TestClient(app, client=("10.0.0.7", 1))
    for _ in range(3):  # anonymous tier: 3/minute; each attempt is refused by the route itself
        with client.websocket_connect("/api/v1/events?token=bad") as ws:
            assert ws.receive_json()["type"] == "error"
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/api/v1/events?token=bad"),
    ):
        pass
    assert refused.value.code == 1008
    assert statuses(TestClient(app, client=("10.0.0.8", 1)), 1) == [200]
