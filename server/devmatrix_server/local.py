"""The local editor token: a language server that starts a private backend hands it a fresh
`dmx_` token in `DEVMATRIX_LOCAL_TOKEN`; the backend registers it (hashed) for a local admin.

The token is honoured only on loopback: the first request that reaches the server through a
non-loopback address revokes it before it is authenticated, so a server bound to a public address
never accepts it from anywhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, select

from devmatrix.config import Settings
from devmatrix.errors import ConfigError
from devmatrix.storage.models import ApiToken, Team, User, utcnow
from devmatrix_server.accounts import role_id
from devmatrix_server.security import passwords, tokens

LOCAL_USERNAME = "devmatrix-local"
LOCAL_TEAM = "devmatrix-local"
TOKEN_LABEL = "editor (local)"  # noqa: S105 - the name shown in token lists

Scope = dict[str, Any]


def install_local_token(app: FastAPI, settings: Settings) -> None:
    """Register `settings.local_token` for the local admin and guard it to loopback (no-op unset)."""
    if settings.local_token is None:
        return
    plain = settings.local_token.get_secret_value()
    if not plain.startswith(tokens.PREFIX) or len(plain) < 24:
        raise ConfigError(
            "DEVMATRIX_LOCAL_TOKEN must be a `dmx_` token of at least 24 characters.",
            "Leave it unset; the language server makes one when it starts a private backend.",
        )
    engine: Engine = app.state.engine
    with Session(engine) as session:
        register_local_token(session, settings, plain)
    app.add_middleware(LoopbackOnly, engine=engine, digest=tokens.token_hash(plain))


def register_local_token(session: Session, settings: Settings, plain: str) -> ApiToken:
    """Store `plain` (hashed) for the local admin, revoking earlier local tokens; commits."""
    user = _local_user(session, settings)
    digest = tokens.token_hash(plain)
    for old in session.exec(select(ApiToken).where(ApiToken.user_id == user.id)).all():
        if old.token_hash != digest and old.revoked_at is None:
            old.revoked_at = utcnow()
            session.add(old)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None:
        row = ApiToken(
            user_id=user.id or 0,
            name=TOKEN_LABEL,
            token_prefix=plain[:12],
            token_hash=digest,
            scopes=list(tokens.SCOPES),
        )
        session.add(row)
    session.commit()
    session.refresh(row)
    return row


def _local_user(session: Session, settings: Settings) -> User:
    user = session.exec(select(User).where(User.username == LOCAL_USERNAME)).first()
    if user is not None:
        return user
    team = session.exec(select(Team).where(Team.name == LOCAL_TEAM)).first()
    if team is None:
        team = Team(name=LOCAL_TEAM)
        session.add(team)
        session.flush()
    user = User(
        username=LOCAL_USERNAME,
        email=f"{LOCAL_USERNAME}@localhost.invalid",
        # Nobody knows this password: the account is reachable only through the local token.
        password_hash=passwords.hash_password(settings, secrets.token_urlsafe(32)),
        team_id=team.id or 0,
        role_id=role_id(session, "admin"),
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def is_loopback(server: Any) -> bool:
    """Whether an ASGI `server` address (host, port) is a loopback address."""
    if not server:
        return False
    host = str(server[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class LoopbackOnly:
    """ASGI middleware: revokes the local token when a request arrives on a non-loopback address."""

    def __init__(self, app: Any, *, engine: Engine, digest: str) -> None:
        self.app = app
        self.engine = engine
        self.digest = digest
        self.revoked = False

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            not self.revoked
            and scope["type"] in ("http", "websocket")
            and not is_loopback(scope.get("server"))
        ):
            await asyncio.to_thread(self._revoke)
        await self.app(scope, receive, send)

    def _revoke(self) -> None:
        with Session(self.engine) as session:
            row = session.exec(select(ApiToken).where(ApiToken.token_hash == self.digest)).first()
            if row is not None and row.revoked_at is None:
                row.revoked_at = utcnow()
                session.add(row)
                session.commit()
        self.revoked = True
