"""Login sessions: access + refresh token pairs, refresh rotation with reuse detection, timeouts.

Each login is an `AuthSession`; its refresh tokens form one family. Every refresh spends the
presented token and issues a new pair. Presenting a spent token again means it was stolen (or
replayed), so the whole session is revoked and a `refresh_token_reuse` security event is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from devmatrix.config import Settings
from devmatrix.storage.models import AuthSession, RefreshToken, SecurityEvent, User, utcnow
from devmatrix_server.errors import AuthenticationFailed
from devmatrix_server.security.jwt import decode_token, issue_token


@dataclass(frozen=True)
class TokenPair:
    """What a login or refresh hands out."""

    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str


def start_session(
    session: Session,
    settings: Settings,
    user: User,
    *,
    ip: str | None,
    user_agent: str | None,
) -> TokenPair:
    """Open a session for `user` and issue its first token pair; commits."""
    auth = AuthSession(
        id=str(uuid.uuid4()),
        user_id=user.id or 0,
        ip=ip,
        user_agent=(user_agent or "")[:512] or None,
    )
    session.add(auth)
    pair = _issue_pair(session, settings, auth, now=utcnow())
    session.commit()
    return pair


def _issue_pair(
    session: Session, settings: Settings, auth: AuthSession, *, now: datetime
) -> TokenPair:
    access, _ = issue_token(
        settings,
        subject=str(auth.user_id),
        purpose="access",
        lifetime=timedelta(minutes=settings.access_token_minutes),
        claims={"sid": auth.id},
        now=now,
    )
    refresh, claims = issue_token(
        settings,
        subject=str(auth.user_id),
        purpose="refresh",
        lifetime=timedelta(days=settings.refresh_token_days),
        claims={"sid": auth.id},
        now=now,
    )
    session.add(
        RefreshToken(
            jti=claims["jti"],
            session_id=auth.id,
            user_id=auth.user_id,
            issued_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    return TokenPair(access, refresh, settings.access_token_minutes * 60, auth.id)


def rotate(
    session: Session, settings: Settings, refresh_token: str, *, ip: str | None
) -> TokenPair:
    """Spend `refresh_token` and issue a new pair; reuse or an expired session revokes it. Commits."""
    claims = decode_token(settings, refresh_token, purpose="refresh")
    row = session.get(RefreshToken, claims["jti"])
    auth = session.get(AuthSession, row.session_id) if row else None
    if row is None or auth is None or str(auth.user_id) != claims["sub"]:
        raise AuthenticationFailed("The refresh token is not known.", "Log in again.")
    if auth.revoked_at is not None:
        raise AuthenticationFailed("The session was ended.", "Log in again.")
    now = utcnow()
    expired = _timeout_reason(settings, auth, now)
    if expired:
        revoke_session(session, auth, reason=expired)
        raise AuthenticationFailed(f"The session timed out ({expired}).", "Log in again.")
    # Spend the token with one conditional UPDATE: of two concurrent refreshes with the same
    # token exactly one wins, on SQLite and PostgreSQL alike; the loser counts as reuse.
    spent = session.connection().execute(
        update(RefreshToken)
        .where(col(RefreshToken.jti) == row.jti, col(RefreshToken.used_at).is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        session.refresh(row)
        _revoke_for_reuse(session, auth, row, ip=ip)
        raise AuthenticationFailed(
            "This refresh token was already used, so the session was ended for safety.",
            "Log in again; if you did not refresh twice, someone may have copied your token.",
        )
    auth.last_seen_at = now
    session.add(auth)
    pair = _issue_pair(session, settings, auth, now=now)
    session.commit()
    return pair


def _timeout_reason(settings: Settings, auth: AuthSession, now: datetime) -> str | None:
    if now - auth.created_at > timedelta(days=settings.session_absolute_days):
        return "absolute timeout"
    if now - auth.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        return "idle timeout"
    return None


def _revoke_for_reuse(
    session: Session, auth: AuthSession, row: RefreshToken, *, ip: str | None
) -> None:
    session.add(
        SecurityEvent(
            kind="refresh_token_reuse",
            severity="high",
            user_id=auth.user_id,
            ip=ip,
            detail={"session_id": auth.id, "jti": row.jti, "first_used_at": str(row.used_at)},
        )
    )
    revoke_session(session, auth, reason="refresh token reuse")


def revoke_session(session: Session, auth: AuthSession, *, reason: str) -> None:
    """End `auth`: its access and refresh tokens stop working. Commits."""
    if auth.revoked_at is None:
        auth.revoked_at = utcnow()
        auth.revoked_reason = reason
        session.add(auth)
    session.commit()


def revoke_user_sessions(session: Session, user_id: int, *, reason: str) -> None:
    """End every open session of a user (deactivation, password change, role change)."""
    open_sessions = session.exec(
        select(AuthSession).where(
            AuthSession.user_id == user_id, col(AuthSession.revoked_at).is_(None)
        )
    ).all()
    for auth in open_sessions:
        revoke_session(session, auth, reason=reason)


def live_session(session: Session, session_id: str) -> AuthSession:
    """The open session `session_id` behind an access token; ended sessions are refused."""
    auth = session.get(AuthSession, session_id)
    if auth is None or auth.revoked_at is not None:
        raise AuthenticationFailed("The session was ended.", "Log in again.")
    return auth
