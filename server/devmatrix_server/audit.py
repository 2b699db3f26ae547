"""Audit: every write (POST, PUT, PATCH, DELETE) leaves an `AuditLog` row.

The row says who (user and team), what (method and route template, resource type and id), when,
from where (IP, user agent), the correlation id and the response status. It is written after the
response is sent, in a worker thread, so it never delays the answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devmatrix.config import Settings
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import AuditLog
from devmatrix_server.observability import client_ip, route_template
from devmatrix_server.ratelimit import CallerIdentifier, request_user

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1/"
log = logging.getLogger(__name__)


def record_audit(
    session: Session,
    *,
    action: str,
    actor_id: int | None = None,
    team_id: int | None = None,
    resource_type: str = "",
    resource_id: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    correlation_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit row to `session` (the caller commits)."""
    row = AuditLog(
        action=action[:64],
        actor_id=actor_id,
        team_id=team_id,
        resource_type=resource_type[:64],
        resource_id=resource_id[:64] if resource_id else None,
        ip=ip[:64] if ip else None,
        user_agent=user_agent[:512] if user_agent else None,
        correlation_id=correlation_id,
        detail=detail or {},
    )
    session.add(row)
    return row


def resource_of(scope: Scope) -> tuple[str, str | None]:
    """The resource a request is about: the first path segment after /api/v1/ and its last id."""
    path: str = scope["path"]
    first = path.removeprefix(API_PREFIX).split("/", 1)[0] if path.startswith(API_PREFIX) else ""
    params: dict[str, Any] = scope.get("path_params") or {}
    ident = str(list(params.values())[-1]) if params else None
    return first, ident


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class AuditMiddleware:
    """Records an `AuditLog` row for every write request, whatever its outcome."""

    def __init__(self, app: ASGIApp, *, engine: Engine, settings: Settings) -> None:
        self.app = app
        self.engine = engine
        self.identifier = CallerIdentifier(settings, engine)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_capturing(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_capturing)
        finally:
            await self._record(scope, status)

    async def _record(self, scope: Scope, status: int) -> None:
        state = scope.setdefault("state", {})
        user = await request_user(scope, self.identifier)
        # Routes that authenticate put the verified user in the state; prefer it.
        actor_id = state.get("user_id") or (user.user_id if user else None)
        team_id = state.get("team_id") or (user.team_id if user else None)
        resource_type, resource_id = resource_of(scope)
        fields: dict[str, Any] = {
            "action": f"{scope['method']} {route_template(scope)}",
            "actor_id": actor_id,
            "team_id": team_id,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "ip": client_ip(scope),
            "user_agent": _header(scope, b"user-agent"),
            "correlation_id": state.get("correlation_id"),
            "detail": {"status": status, "path": scope["path"], "method": scope["method"]},
        }
        try:
            await asyncio.to_thread(self._write, fields)
        except SQLAlchemyError:
            # The response is already sent; a lost audit row must at least be loud in the logs.
            log.exception("audit row could not be written: %s", fields)

    def _write(self, fields: dict[str, Any]) -> None:
        with session_scope(self.engine) as session:
            record_audit(session, **fields)
