"""`/api/v1/events`: authenticated, per team and plan, resumable with `last_event_id`, heartbeats."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.websockets import WebSocketDisconnect

from devmatrix.config import Settings, load_settings
from devmatrix.events import AtomStarted, EventBus, PlanCreated, build_event_bus
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine
from devmatrix.storage.models import AuthSession, MasterPlan, Team, User
from devmatrix_server.accounts import role_id, seed_roles
from devmatrix_server.observability import install_ops
from devmatrix_server.security.jwt import decode_token
from devmatrix_server.security.sessions import revoke_session, start_session
from devmatrix_server.security.tokens import create_token


@dataclass
class World:
    client: TestClient
    bus: EventBus  # a publisher: the app's own bus, or another "process" over Redis
    alice: str  # access token, team A
    alice_pat: str
    eve: str  # access token, team B
    plan_a: int
    plan_a2: int
    plan_b: int
    team_a: int
    team_b: int


def seed(engine: Engine, settings: Settings) -> dict[str, Any]:
    with Session(engine, expire_on_commit=False) as session:
        seed_roles(session)
        ids: dict[str, Any] = {}
        for name in ("a", "b"):
            team = Team(name=f"team-{name}")
            session.add(team)
            session.flush()
            user = User(
                username=f"user-{name}",
                email=f"{name}@example.com",
                password_hash="-",
                team_id=team.id or 0,
                role_id=role_id(session, "user"),
            )
            plan = MasterPlan(team_id=team.id, title=f"plan {name}")
            session.add_all([user, plan])
            session.commit()
            ids[f"team_{name}"], ids[f"plan_{name}"], ids[f"user_{name}"] = team.id, plan.id, user
            ids[f"token_{name}"] = start_session(
                session, settings, user, ip=None, user_agent=None
            ).access_token
        second = MasterPlan(team_id=ids["team_a"], title="plan a2")
        session.add(second)
        session.commit()
        ids["plan_a2"] = second.id
        ids["pat_a"], _ = create_token(
            session, user=ids["user_a"], name="editor", scopes=["read"], expires_in_days=1
        )
    return ids


@pytest.fixture(params=["in-process", "redis"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    settings = load_settings(
        redis_url=redis_url,
        events_channel=f"test:ws:{uuid.uuid4().hex}",
        rate_limit_prefix=f"test:ws:{uuid.uuid4().hex}",
        events_heartbeat_seconds=0.3,
    )
    engine = create_db_engine(f"sqlite:///{tmp_path / 'ws.db'}")
    migrate.upgrade(engine)
    ids = seed(engine, settings)
    app = FastAPI()
    app.state.settings = settings
    app.state.engine = engine
    install_ops(app, settings)
    # Over Redis, publish from a second bus: as if the engine ran in another process.
    bus = build_event_bus(settings, engine) if redis_url else app.state.event_bus
    with TestClient(app) as client:
        yield World(
            client,
            bus,
            ids["token_a"],
            ids["pat_a"],
            ids["token_b"],
            ids["plan_a"],
            ids["plan_a2"],
            ids["plan_b"],
            ids["team_a"],
            ids["team_b"],
        )
    bus.close()
    app.state.event_bus.close()


def next_event(ws: Any) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] != "ping":
            return message


def test_plan_subscriber_gets_only_that_plan_with_ids(world: World) -> None:
    url = f"/api/v1/events?token={world.alice}&plan_id={world.plan_a}"
    with world.client.websocket_connect(url) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "subscribed"
        world.bus.publish(AtomStarted(plan_id=world.plan_b, team_id=world.team_b))
        world.bus.publish(AtomStarted(plan_id=world.plan_a2, team_id=world.team_a))
        wanted = world.bus.publish(
            AtomStarted(plan_id=world.plan_a, team_id=world.team_a, payload={"atom": 1})
        )
        event = next_event(ws)
    assert event["id"] == wanted
    assert event["type"] == "atom_started"
    assert event["plan_id"] == world.plan_a
    assert event["payload"] == {"atom": 1}


def test_team_subscriber_never_sees_other_teams(world: World) -> None:
    with world.client.websocket_connect(f"/api/v1/events?token={world.alice}") as ws:
        ws.receive_json()
        world.bus.publish(PlanCreated(plan_id=world.plan_b, team_id=world.team_b))
        mine = world.bus.publish(PlanCreated(plan_id=world.plan_a2, team_id=world.team_a))
        assert next_event(ws)["id"] == mine


def test_token_may_come_as_first_message_and_pat_works(world: World) -> None:
    with world.client.websocket_connect("/api/v1/events") as ws:
        ws.send_json({"token": world.alice_pat})
        assert ws.receive_json()["type"] == "subscribed"
        sent = world.bus.publish(PlanCreated(plan_id=world.plan_a, team_id=world.team_a))
        assert next_event(ws)["id"] == sent


@pytest.mark.parametrize("token", ["not-a-token", "dmx_unknown", ""])
def test_bad_credentials_are_refused(world: World, token: str) -> None:
    with world.client.websocket_connect("/api/v1/events") as ws:
        ws.send_json({"token": token})
        error = ws.receive_json()
        assert error["type"] == "error"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


def test_plan_of_another_team_is_refused(world: World) -> None:
    url = f"/api/v1/events?token={world.eve}&plan_id={world.plan_a}"
    with world.client.websocket_connect(url) as ws:
        error = ws.receive_json()
        assert error == {"type": "error", "detail": f"Plan {world.plan_a} does not exist."}
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()


def test_reconnect_with_last_event_id_misses_nothing(world: World) -> None:
    def publish(n: int) -> int:
        return world.bus.publish(
            AtomStarted(plan_id=world.plan_a, team_id=world.team_a, payload={"n": n})
        )

    url = f"/api/v1/events?token={world.alice}&plan_id={world.plan_a}"
    with world.client.websocket_connect(url) as ws:
        ws.receive_json()
        before = [publish(0), publish(1)]
        seen = [next_event(ws)["id"], next_event(ws)["id"]]
    assert seen == before
    gap = [publish(2), publish(3), publish(4)]  # published while the client is away
    with world.client.websocket_connect(f"{url}&last_event_id={seen[-1]}") as ws:
        assert ws.receive_json()["last_event_id"] == seen[-1]
        replayed = [next_event(ws) for _ in gap]
        live = publish(5)
        after = next_event(ws)
    assert [e["id"] for e in replayed] == gap
    assert [e["payload"]["n"] for e in replayed] == [2, 3, 4]
    assert after["id"] == live


def test_idle_stream_sends_heartbeat_pings(world: World) -> None:
    with world.client.websocket_connect(f"/api/v1/events?token={world.alice}") as ws:
        ws.receive_json()
        assert ws.receive_json() == {"type": "ping"}


def test_stream_ends_when_the_login_session_is_revoked(world: World) -> None:
    settings = world.client.app.state.settings  # type: ignore[attr-defined]
    sid = decode_token(settings, world.alice, purpose="access")["sid"]
    with world.client.websocket_connect(f"/api/v1/events?token={world.alice}") as ws:
        ws.receive_json()
        assert ws.receive_json() == {"type": "ping"}  # still allowed
        with Session(world.client.app.state.engine) as session:  # type: ignore[attr-defined]
            auth = session.get(AuthSession, sid)
            assert auth is not None
            revoke_session(session, auth, reason="logout")
            session.commit()
        message = next_event(ws)
        assert message["type"] == "error"
        assert "last_event_id" in message["detail"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008
