"""Brute-force protection: after 5 failed logins an account locks for 15, 30, 60, 120, then 240 min.

Failures count until the next successful login. Each lockout lengthens the next one
(`lockout_count`); a success resets both counters. Bursts and lockouts become security events.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlmodel import Session

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
    """Count a failed login for `user`, locking the account on the fifth; commits."""
    user.failed_logins += 1
    if user.failed_logins == BURST_FAILURES:
        session.add(
            SecurityEvent(
                kind="failed_login_burst",
                severity="warning",
                user_id=user.id,
                ip=ip,
                detail={"failed_logins": user.failed_logins, "username": user.username},
            )
        )
    if user.failed_logins >= MAX_FAILURES:
        duration = lockout_duration(user.lockout_count)
        user.locked_until = utcnow() + duration
        user.lockout_count += 1
        user.failed_logins = 0
        session.add(
            SecurityEvent(
                kind="account_locked",
                severity="high",
                user_id=user.id,
                ip=ip,
                detail={
                    "username": user.username,
                    "lockout_count": user.lockout_count,
                    "minutes": int(duration.total_seconds() // 60),
                },
            )
        )
    session.add(user)
    session.commit()


def record_success(session: Session, user: User) -> None:
    """Reset the failure counters after a successful login (does not commit)."""
    user.failed_logins = 0
    user.lockout_count = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    session.add(user)
