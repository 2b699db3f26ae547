"""Security events: stored as `SecurityEvent` rows and, once committed, sent to the webhooks.

`record_security_event` is the one way to raise an event. Delivery hangs off the database
session: every `SecurityEvent` row flushed in a session is handed to the webhook dispatcher when
that session commits (and forgotten if it rolls back), so an alert never describes something
that was not saved, and rows added directly are delivered too.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Session

from devmatrix.config import Settings, WebhookTarget
from devmatrix.storage.models import SecurityEvent
from devmatrix_server.webhooks import DISPATCHER, SecurityAlert

Severity = Literal["info", "warning", "high", "critical"]
# Kinds that always alert, whatever their severity; other rows alert from severity "warning" up.
KINDS = frozenset(
    {
        "failed_login_burst",
        "account_locked",
        "role_changed",
        "refresh_token_reuse",
        "2fa_enabled",
        "2fa_disabled",
        "2fa_recovery_code_used",
        "token_revoked",
    }
)
_PENDING = "devmatrix_security_alerts"
# Webhook targets per database URL: sessions on that database alert these targets.
_TARGETS: dict[str, list[WebhookTarget]] = {}


def record_security_event(
    session: Session,
    kind: str,
    *,
    severity: Severity = "warning",
    user_id: int | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> SecurityEvent:
    """Add a security event to `session` (flushed for its id); webhooks get it on commit."""
    if kind not in KINDS:
        raise ValueError(f"unknown security event kind {kind!r}; known: {sorted(KINDS)}")
    row = SecurityEvent(
        kind=kind, severity=severity, user_id=user_id, ip=ip, detail=dict(detail or {})
    )
    session.add(row)
    session.flush()
    return row


def install_security_webhooks(settings: Settings, engine: Engine) -> None:
    """Send security events committed on `engine`'s database to `settings.security_webhooks`."""
    _TARGETS[_key(engine)] = list(settings.security_webhooks)
    if not event.contains(OrmSession, "after_flush", _collect):
        event.listen(OrmSession, "after_flush", _collect)
        event.listen(OrmSession, "after_commit", _dispatch)
        event.listen(OrmSession, "after_rollback", _forget)


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _targets(session: OrmSession) -> tuple[list[WebhookTarget], Engine | None]:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _TARGETS.get(_key(engine), []), engine


def _collect(session: OrmSession, _flush: UOWTransaction) -> None:
    # After a flush the new rows have ids; copy them now, the objects may expire at commit.
    new = [obj for obj in session.new if isinstance(obj, SecurityEvent)]
    if not new or not _targets(session)[0]:
        return
    pending: list[SecurityAlert] = session.info.setdefault(_PENDING, [])
    for row in new:
        if row.id is not None and (row.kind in KINDS or row.severity != "info"):
            pending.append(
                SecurityAlert(
                    row.id,
                    row.kind,
                    row.severity,
                    row.user_id,
                    row.ip,
                    dict(row.detail),
                    row.created_at,
                )
            )


def _dispatch(session: OrmSession) -> None:
    alerts: list[SecurityAlert] = session.info.pop(_PENDING, [])
    if alerts:
        targets, engine = _targets(session)
        for alert in alerts:
            DISPATCHER.submit(alert, targets, engine)


def _forget(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)
