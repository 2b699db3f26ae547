"""Correlation ids, structured JSON logs and request metrics, plus `install_ops` wiring them all.

Every request gets a correlation id (the client's `X-Correlation-ID` when well-formed, else a new
one), echoed in the response and attached to every log line written while it is handled.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devmatrix.config import Settings

HEADER = "X-Correlation-ID"
_HEADER_KEY = HEADER.lower().encode()
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
access_log = logging.getLogger("devmatrix.access")
# Fields a log call may pass with `extra=` that become top-level JSON members.
EXTRA_FIELDS = ("route", "method", "path", "status", "duration_ms", "client")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation_id, request fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", None) or correlation_id.get(),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (test runners and servers swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_TOKEN_IN_QUERY = re.compile(r"((?:^|[?&])(?:token|access_token)=)[^&\s\"']+")


class RedactQueryTokens(logging.Filter):
    """Masks `token=` query values (the WebSocket may carry one) in uvicorn's connection logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        record.msg = _TOKEN_IN_QUERY.sub(r"\1***", str(record.msg))
        return True


def configure_json_logging(level: int = logging.INFO, stream: Any = None) -> logging.Handler:
    """Send the `devmatrix*` loggers' records to `stream` (stderr) as JSON lines; idempotent."""
    handler = logging.StreamHandler(stream) if stream else _StderrHandler()
    handler.setFormatter(JsonFormatter())
    handler.set_name("devmatrix-json")
    for name in ("devmatrix", "devmatrix_server"):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == "devmatrix-json"]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, RedactQueryTokens) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(RedactQueryTokens())
    return handler


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/v1/plans/{plan_id}`), or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def client_ip(scope: Scope) -> str:
    """The peer address of the request (proxies are not trusted by default)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _incoming_id(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == _HEADER_KEY:
            text = str(value.decode("latin-1"))
            if _VALID_ID.match(text):
                return text
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Sets the correlation id, echoes it, logs one access line and records request metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cid = _incoming_id(scope)
        token = correlation_id.set(cid)
        scope.setdefault("state", {})["correlation_id"] = cid
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (_HEADER_KEY, cid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                _finish_request(scope, status, time.perf_counter() - started)
            correlation_id.reset(token)


def _finish_request(scope: Scope, status: int, seconds: float) -> None:
    from devmatrix_server.metrics import observe_request

    route = route_template(scope)
    observe_request(scope["method"], route, status, seconds)
    access_log.info(
        "%s %s -> %s",
        scope["method"],
        scope["path"],
        status,
        extra={
            "route": route,
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "client": client_ip(scope),
        },
    )


def install_ops(app: FastAPI, settings: Settings) -> None:
    """Add the operational layer: correlation ids, JSON logs, metrics, rate limits, audit, CORS,
    and the `/api/v1/events` WebSocket and `/api/v1/metrics` routes."""
    from devmatrix.events import build_event_bus
    from devmatrix.storage.db import engine_for
    from devmatrix_server.audit import AuditMiddleware
    from devmatrix_server.metrics import install_metrics
    from devmatrix_server.ratelimit import RateLimitMiddleware, build_rate_limiter
    from devmatrix_server.routes import events
    from devmatrix_server.security_events import install_security_webhooks

    engine = getattr(app.state, "engine", None) or engine_for(settings.effective_database_url)
    if not hasattr(app.state, "event_bus"):
        app.state.event_bus = build_event_bus(settings, engine)
    configure_json_logging()
    # Starlette runs the middleware added last first: CORS, context, rate limit, audit, routes.
    app.add_middleware(AuditMiddleware, engine=engine, settings=settings)
    if settings.rate_limit_enabled:
        app.add_middleware(
            RateLimitMiddleware,
            limiter=build_rate_limiter(settings),
            settings=settings,
            engine=engine,
        )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", HEADER],
        expose_headers=[HEADER, "Retry-After"],
    )
    install_security_webhooks(settings, engine)
    install_metrics(app, app.state.event_bus, engine)
    app.include_router(events.router)
    _close_on_shutdown(app)


def _close_on_shutdown(app: FastAPI) -> None:
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(target: Any) -> AsyncIterator[Any]:
        async with inner(target) as state:
            yield state
        app.state.event_bus.close()
        reads = getattr(app.state, "reads", None)
        if reads is not None:
            reads.close()

    app.router.lifespan_context = lifespan
