"""Delivery of security events to webhooks: Slack-compatible JSON and PagerDuty Events v2.

Deliveries run on one background thread per process, off the request path, with a bounded
retry (connection errors, 429 and 5xx are retried with exponential backoff; other 4xx are not).
When every target accepted an event, its `delivered_at` is set.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine, update
from sqlalchemy.exc import SQLAlchemyError

from devmatrix.config import WebhookTarget
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import SecurityEvent, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 4
BACKOFF_SECONDS = 0.5  # doubled after each failed attempt
TIMEOUT_SECONDS = 5.0
PAGERDUTY_SEVERITY = {"info": "info", "warning": "warning", "high": "error", "critical": "critical"}


@dataclass(frozen=True)
class SecurityAlert:
    """What is sent about one stored `SecurityEvent` (a copy, safe to use off its session)."""

    id: int
    kind: str
    severity: str
    user_id: int | None
    ip: str | None
    detail: dict[str, Any]
    created_at: datetime

    def summary(self) -> str:
        """One human line: what happened, to whom, from where."""
        who = f" user {self.user_id}" if self.user_id is not None else ""
        where = f" from {self.ip}" if self.ip else ""
        return f"DevMatrix security event: {self.kind.replace('_', ' ')}{who}{where}"


def slack_body(alert: SecurityAlert) -> dict[str, Any]:
    """Slack incoming-webhook message (also understood by Mattermost, Rocket.Chat, Teams bridges)."""
    details = ", ".join(f"{k}={v}" for k, v in sorted(alert.detail.items()))
    text = f"[{alert.severity}] {alert.summary()} at {alert.created_at.isoformat()}"
    return {"text": f"{text} ({details})" if details else text}


def pagerduty_body(alert: SecurityAlert, routing_key: str) -> dict[str, Any]:
    """PagerDuty Events API v2 `trigger` event."""
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": f"devmatrix-security-{alert.id}",
        "payload": {
            "summary": alert.summary(),
            "source": "devmatrix",
            "severity": PAGERDUTY_SEVERITY.get(alert.severity, "warning"),
            "component": "authentication",
            "class": alert.kind,
            "timestamp": alert.created_at.isoformat(),
            "custom_details": {**alert.detail, "user_id": alert.user_id, "ip": alert.ip},
        },
    }


def body_for(target: WebhookTarget, alert: SecurityAlert) -> dict[str, Any]:
    """The JSON body `target` expects for `alert`."""
    if target.format == "pagerduty":
        key = target.routing_key.get_secret_value() if target.routing_key else ""
        return pagerduty_body(alert, key)
    return slack_body(alert)


def deliver(client: httpx.Client, target: WebhookTarget, alert: SecurityAlert) -> bool:
    """POST `alert` to `target`, retrying transient failures; True once accepted."""
    delay = BACKOFF_SECONDS
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = client.post(target.url, json=body_for(target, alert))
            if response.status_code < 300:
                return True
            retryable = response.status_code == 429 or response.status_code >= 500
            reason = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            retryable, reason = True, f"{type(exc).__name__}: {exc}"
        log.warning(
            "webhook %s refused security event %s (attempt %s/%s): %s",
            target.url,
            alert.id,
            attempt,
            MAX_ATTEMPTS,
            reason,
        )
        if not retryable or attempt == MAX_ATTEMPTS:
            return False
        time.sleep(delay)
        delay *= 2
    return False


@dataclass
class _Job:
    alert: SecurityAlert
    targets: list[WebhookTarget]
    engine: Engine | None
    done: threading.Event = field(default_factory=threading.Event)


class WebhookDispatcher:
    """A queue of alerts and the one thread that delivers them."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(
        self, alert: SecurityAlert, targets: list[WebhookTarget], engine: Engine | None
    ) -> threading.Event:
        """Queue `alert` for `targets`; the returned event is set when delivery has finished."""
        job = _Job(alert, list(targets), engine)
        self._jobs.put(job)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="devmatrix-webhooks", daemon=True
                )
                self._thread.start()
        return job.done

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every queued alert was handled (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._jobs.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._jobs.unfinished_tasks

    def _run(self) -> None:
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            while True:
                job = self._jobs.get()
                try:
                    ok = all([deliver(client, t, job.alert) for t in job.targets])
                    if ok and job.engine is not None:
                        _mark_delivered(job.engine, job.alert.id)
                finally:
                    job.done.set()
                    self._jobs.task_done()


def _mark_delivered(engine: Engine, event_id: int) -> None:
    try:
        with session_scope(engine) as session:
            session.execute(
                update(SecurityEvent)
                .where(SecurityEvent.id == event_id)  # type: ignore[arg-type]
                .values(delivered_at=utcnow())
            )
    except SQLAlchemyError:
        log.exception("security event %s was delivered but could not be marked", event_id)


DISPATCHER = WebhookDispatcher()
