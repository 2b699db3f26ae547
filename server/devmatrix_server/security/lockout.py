"""Brute-force protection: after 5 failed logins an account locks for 15, 30, 60, 120, then 240 min.

Failures count until the next successful login. Each lockout lengthens the next one
(`lockout_count`); a success resets both counters. Bursts and lockouts become security events.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from devmatrix.storage.models import SecurityEvent, User, utcnow
from devmatrix_server.errors import AccountLocked

MAX_FAILURES = 5
BURST_FAILURES = 3
LOCKOUT_MINUTES = (15, 30, 60, 120, 240)


def lockout_duration(lockout_count: int) -> timedelta:
    """How long the `lockout_count`-th lockout (0-based) lasts; the last step repeats."""
    return timedelta(minutes=LOCKOUT_MINUTES[min(lockout_count, len(LOCKOUT_MINUTES) - 1)])


def ensure_not_locked(user: User) -> None:
    """Raise `AccountLocked` while `user` is locked out."""
    if user.locked_until is None:
        return
    remaining = (user.locked_until - utcnow()).total_seconds()
    if remaining > 0:
        minutes = math.ceil(remaining / 60)
        raise AccountLocked(
            f"The account is locked after too many failed logins; try again in {minutes} minute(s).",
            "Ask an administrator if you cannot remember the password.",
            retry_after_seconds=math.ceil(remaining),
        )


def record_failure(session: Session, user: User, *, ip: str | None) -> None:
    """Count a failed login for `user`, locking the account on the fifth; commits.

    Counting is one atomic UPDATE, so parallel guesses cannot lose increments and get extra tries.
    """
    connection = session.connection()
    failures = connection.execute(
        update(User)
        .where(col(User.id) == user.id)
        .values(failed_logins=col(User.failed_logins) + 1)
        .returning(col(User.failed_logins))
    ).scalar_one()
    if failures == BURST_FAILURES:
        session.add(_event(user, "failed_login_burst", "warning", ip, failed_logins=failures))
    if failures >= MAX_FAILURES:
        # Only the request that resets the counter locks, so one burst is one lockout.
        lockouts = connection.execute(
            update(User)
            .where(col(User.id) == user.id, col(User.failed_logins) >= MAX_FAILURES)
            .values(failed_logins=0, lockout_count=col(User.lockout_count) + 1)
            .returning(col(User.lockout_count))
        ).scalar_one_or_none()
        if lockouts is not None:
            duration = lockout_duration(lockouts - 1)
            connection.execute(
                update(User).where(col(User.id) == user.id).values(locked_until=utcnow() + duration)
            )
            minutes = int(duration.total_seconds() // 60)
            session.add(
                _event(user, "account_locked", "high", ip, lockout_count=lockouts, minutes=minutes)
            )
    session.commit()
    session.refresh(user)


def _event(user: User, kind: str, severity: str, ip: str | None, **detail: Any) -> SecurityEvent:
    return SecurityEvent(
        kind=kind,
        severity=severity,
        user_id=user.id,
        ip=ip,
        detail={"username": user.username, **detail},
    )


def record_success(session: Session, user: User) -> None:
    """Reset the failure counters after a successful login (does not commit)."""
    user.failed_logins = 0
    user.lockout_count = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    session.add(user)
