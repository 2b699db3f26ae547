"""The operational layer inside the real app (`create_app`): audit, security webhooks, rate
limits, events and metrics, driven through the real auth routes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlmodel import col, select

from devmatrix.events import RunStarted
from devmatrix.storage.models import AuditLog, MasterPlan, SecurityEvent, User
from devmatrix_server import webhooks

PASSWORD = "orbit velvet cactus lantern"


@pytest.fixture
def slack() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback Slack-style receiver: its URL and the bodies it got."""
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", bodies
    server.shutdown()
    server.server_close()


def bad_login(api: Any, username: str) -> int:
    body = {"username": username, "password": "wrong wrong wrong wrong"}
    return int(api.client.post("/api/v1/auth/login", json=body).status_code)


def test_failed_logins_are_audited_and_alert_the_webhook(make_sqlite_api: Any, slack: Any) -> None:
    url, bodies = slack
    api = make_sqlite_api(security_webhooks=[{"url": url, "format": "slack"}])
    api.register("alice")
    codes = [bad_login(api, "alice") for _ in range(5)]
    assert codes[:4] == [401] * 4
    assert webhooks.DISPATCHER.wait_idle()
    texts = " | ".join(b["text"] for b in bodies)
    assert "failed login burst" in texts
    assert "account locked" in texts
    with api.session() as session:
        alice = session.exec(select(User).where(User.username == "alice")).one()
        rows = session.exec(select(AuditLog).order_by(col(AuditLog.id))).all()
        delivered = session.exec(select(SecurityEvent)).all()
    assert [r.action for r in rows] == ["POST /api/v1/auth/register"] + [
        "POST /api/v1/auth/login"
    ] * 5
    assert rows[0].detail["status"] == 201
    assert [r.detail["status"] for r in rows[1:5]] == [401] * 4
    assert all(r.ip == "127.0.0.1" and r.correlation_id for r in rows)
    assert {e.kind for e in delivered} >= {"failed_login_burst", "account_locked"}
    assert all(e.delivered_at is not None for e in delivered)
    assert alice.locked_until is not None


def test_write_by_logged_in_user_names_the_actor(make_sqlite_api: Any) -> None:
    api = make_sqlite_api()
    user = api.register("bob")
    headers = api.headers("bob")
    created = api.client.post(
        "/api/v1/auth/tokens", json={"name": "editor", "scopes": ["read"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    with api.session() as session:
        row = session.exec(
            select(AuditLog).where(AuditLog.action == "POST /api/v1/auth/tokens")
        ).one()
    assert row.actor_id == user["id"]
    assert row.correlation_id == created.headers["x-correlation-id"]


def test_auth_routes_are_rate_limited_in_the_app(make_sqlite_api: Any) -> None:
    api = make_sqlite_api(rate_limit_enabled=True, rate_limit_auth="3/minute")
    codes = [bad_login(api, "nobody") for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    refused = api.client.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1


def test_logged_in_user_follows_a_plan_and_metrics_scrape(make_sqlite_api: Any) -> None:
    api = make_sqlite_api()
    user = api.register("carol")
    token = api.login("carol")["access_token"]
    with api.session() as session:
        plan = MasterPlan(team_id=user["team_id"], title="todo api")
        session.add(plan)
        session.commit()
        plan_id = plan.id
    url = f"/api/v1/events?token={token}&plan_id={plan_id}"
    with api.client.websocket_connect(url) as ws:
        assert ws.receive_json()["type"] == "subscribed"
        sent = api.app.state.event_bus.publish(RunStarted(plan_id=plan_id, team_id=user["team_id"]))
        event = ws.receive_json()
    assert (event["id"], event["type"]) == (sent, "run_started")
    scrape = api.client.get("/api/v1/metrics")
    assert scrape.status_code == 200
    assert 'devmatrix_events_published_total{type="run_started"}' in scrape.text
