"""Personal access tokens `dmx_<random>` for editors and scripts: scoped, expiring, revocable.

Only the SHA-256 of a token is stored (tokens are 256-bit random, so a fast hash is enough);
the plain token is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlmodel import Session, col, select

from devmatrix.storage.models import ApiToken, Role, User, utcnow
from devmatrix_server.errors import AuthenticationFailed

PREFIX = "dmx_"
SCOPES = ("read", "write", "admin")
# Which scopes each role may put on a token: a token never grants more than its owner has.
SCOPES_BY_ROLE = {"admin": frozenset(SCOPES), "user": frozenset({"read", "write"})}
READ_ONLY = frozenset({"read"})
LAST_USED_PRECISION = timedelta(minutes=1)


def allowed_scopes(role: str) -> frozenset[str]:
    """The scopes a user with `role` may hold (viewers: read only)."""
    return SCOPES_BY_ROLE.get(role, READ_ONLY)


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    *,
    user: User,
    name: str,
    scopes: Iterable[str],
    expires_in_days: int | None,
) -> tuple[str, ApiToken]:
    """Create and store a token for `user`; returns the plain token (shown once) and its row."""
    plain = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id or 0,
        name=name,
        token_prefix=plain[:12],
        token_hash=token_hash(plain),
        scopes=sorted(set(scopes)),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return plain, row


def resolve_token(session: Session, plain: str) -> tuple[ApiToken, User, Role]:
    """The live token, its user and role for `plain`; records `last_used_at`. Refuses revoked/expired."""
    found = session.exec(
        select(ApiToken, User, Role)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .join(Role, col(Role.id) == col(User.role_id))
        .where(ApiToken.token_hash == token_hash(plain))
    ).first()
    if found is None:
        raise AuthenticationFailed(
            "The access token is not known.", "Create a new one under /api/v1/auth/tokens."
        )
    row, user, role = found
    now = utcnow()
    if row.revoked_at is not None:
        raise AuthenticationFailed(
            f"The access token {row.token_prefix}… was revoked.", "Create a new one."
        )
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationFailed(
            f"The access token {row.token_prefix}… expired.", "Create a new one."
        )
    # Writing on every request would make each read a write; a minute's precision is plenty.
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_PRECISION:
        row.last_used_at = now
        session.add(row)
        session.commit()
    return row, user, role


def revoke_token(session: Session, row: ApiToken) -> None:
    """Revoke `row` now; revoking twice is harmless."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
