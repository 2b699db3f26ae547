"""Security events reach Slack-style and PagerDuty webhooks on a loopback receiver, after commit."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from devmatrix.config import load_settings
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine
from devmatrix.storage.models import SecurityEvent
from devmatrix_server import webhooks
from devmatrix_server.security_events import install_security_webhooks, record_security_event


class Receiver:
    """A loopback HTTP server recording JSON posts; `plan[path]` lists statuses to answer first."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.plan: dict[str, list[int]] = {}
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.posts.append((self.path, body))
                time.sleep(receiver.delay)
                planned = receiver.plan.get(self.path) or [200]
                status = planned.pop(0) if len(planned) > 1 else planned[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.posts if p == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def engine(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(webhooks, "BACKOFF_SECONDS", 0.01)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'sec.db'}")
    migrate.upgrade(engine)
    settings = load_settings(
        security_webhooks=[
            {"url": f"{receiver.url}/slack", "format": "slack"},
            {"url": f"{receiver.url}/pd", "format": "pagerduty", "routing_key": "R0UTING"},
        ]
    )
    install_security_webhooks(settings, engine)
    return engine


def delivered_at(engine: Engine, event_id: int) -> Any:
    with Session(engine) as session:
        row = session.get(SecurityEvent, event_id)
        assert row is not None
        return row.delivered_at


def test_committed_event_goes_to_slack_and_pagerduty_in_their_formats(
    engine: Engine, receiver: Receiver
) -> None:
    with Session(engine) as session:
        row = record_security_event(
            session,
            "refresh_token_reuse",
            severity="high",
            user_id=None,
            ip="203.0.113.9",
            detail={"session_id": "s-1"},
        )
        event_id = row.id
        assert event_id is not None
        session.commit()
    assert webhooks.DISPATCHER.wait_idle()
    [slack] = receiver.bodies("/slack")
    assert set(slack) == {"text"}
    assert "refresh token reuse" in slack["text"]
    assert "203.0.113.9" in slack["text"]
    assert "session_id=s-1" in slack["text"]
    [pd] = receiver.bodies("/pd")
    assert pd["routing_key"] == "R0UTING"
    assert pd["event_action"] == "trigger"
    assert pd["payload"]["source"] == "devmatrix"
    assert pd["payload"]["severity"] == "error"
    assert "refresh token reuse" in pd["payload"]["summary"]
    assert pd["payload"]["custom_details"]["session_id"] == "s-1"
    assert delivered_at(engine, event_id) is not None


def test_transient_failures_are_retried_then_delivered(engine: Engine, receiver: Receiver) -> None:
    receiver.plan["/slack"] = [500, 503, 200]
    with Session(engine) as session:
        event_id = record_security_event(session, "account_locked").id
        session.commit()
    assert webhooks.DISPATCHER.wait_idle()
    assert len(receiver.bodies("/slack")) == 3
    assert len(receiver.bodies("/pd")) == 1
    assert event_id is not None
    assert delivered_at(engine, event_id) is not None


def test_retry_is_bounded_and_client_errors_are_not_retried(
    engine: Engine, receiver: Receiver
) -> None:
    receiver.plan["/slack"] = [500]  # always
    receiver.plan["/pd"] = [400]  # a bad request will not get better
    with Session(engine) as session:
        event_id = record_security_event(session, "role_changed", detail={"to": "admin"}).id
        session.commit()
    assert webhooks.DISPATCHER.wait_idle()
    assert len(receiver.bodies("/slack")) == webhooks.MAX_ATTEMPTS
    assert len(receiver.bodies("/pd")) == 1
    assert event_id is not None
    assert delivered_at(engine, event_id) is None


def test_rolled_back_event_is_never_sent(engine: Engine, receiver: Receiver) -> None:
    with Session(engine) as session:
        record_security_event(session, "2fa_disabled")
        session.rollback()
        session.commit()
    assert webhooks.DISPATCHER.wait_idle()
    assert receiver.posts == []


def test_rows_added_directly_are_delivered_too(engine: Engine, receiver: Receiver) -> None:
    with Session(engine) as session:
        session.add(SecurityEvent(kind="failed_login_burst", severity="warning", detail={"n": 5}))
        session.add(SecurityEvent(kind="login_failed", severity="info"))  # info: stored only
        session.add(SecurityEvent(kind="2fa_enabled", severity="info"))  # a 2FA change alerts
        session.commit()
    assert webhooks.DISPATCHER.wait_idle()
    texts = sorted(body["text"] for body in receiver.bodies("/slack"))
    assert len(texts) == 2
    assert "2fa enabled" in texts[0]
    assert "failed login burst" in texts[1]


def test_delivery_happens_off_the_committing_thread(engine: Engine, receiver: Receiver) -> None:
    receiver.delay = 1.0
    with Session(engine) as session:
        record_security_event(session, "2fa_enabled")
        started = time.monotonic()
        session.commit()
        took = time.monotonic() - started
    assert took < 0.5
    assert webhooks.DISPATCHER.wait_idle()
    assert len(receiver.posts) == 2


def test_unknown_kind_is_refused(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(ValueError, match="unknown security event"):
        record_security_event(session, "something_odd")
