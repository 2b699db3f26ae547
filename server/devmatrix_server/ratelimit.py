"""Sliding-window rate limits per IP and per user, with tiers, answered with 429 + `Retry-After`.

A sliding log: each key keeps the times of its requests inside the window, so a burst at the
edge of a fixed window cannot double the limit. In-process by default; with Redis configured
the log lives in a sorted set updated by one Lua script (atomic, clocked by Redis itself), so the
limit holds across several server processes. Written by hand: the libraries we looked at either
fix the window or need their own decorators on every route.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.types import ASGIApp, Receive, Scope, Send

from devmatrix.config import Settings
from devmatrix.errors import ConfigError, DevMatrixError
from devmatrix.storage.models import ApiToken, Role, User, utcnow
from devmatrix_server.observability import client_ip

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")
EXEMPT_PREFIXES = ("/api/v1/health/", "/api/v1/metrics")
AUTH_PREFIX = "/api/v1/auth/"
IDENTITY_TTL_SECONDS = 30.0
IDENTITY_CACHE_MAX = 10_000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rate:
    """At most `limit` requests per `window` seconds."""

    limit: int
    window: float


def parse_rate(text: str, *, setting: str = "rate limit") -> Rate:
    """Read "120/minute", "5/10 seconds" or "1000/hour"; a malformed value raises `ConfigError`."""
    match = _RATE.match(text)
    if not match or int(match.group(1)) < 1:
        raise ConfigError(
            f"{setting} is not a rate: {text!r}.",
            'Write it as "<count>/<unit>", e.g. "120/minute" or "10/30 seconds".',
        )
    return Rate(int(match.group(1)), int(match.group(2) or 1) * UNITS[match.group(3)])


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit: allowed or not, and when to retry."""

    allowed: bool
    remaining: int
    retry_after: float


class RateLimiter(Protocol):
    """Counts hits per key inside a sliding window."""

    async def hit(self, key: str, rate: Rate) -> Decision:
        """Record one request for `key` if under `rate`; say whether it is allowed."""
        ...


class MemoryRateLimiter:
    """Sliding log in this process (the default)."""

    def __init__(self) -> None:
        self._logs: dict[str, deque[float]] = {}
        self._hits = 0

    async def hit(self, key: str, rate: Rate) -> Decision:
        """Record one request for `key` if under `rate`; say whether it is allowed."""
        now = time.monotonic()
        log = self._logs.setdefault(key, deque())
        while log and log[0] <= now - rate.window:
            log.popleft()
        self._hits += 1
        if self._hits % 10_000 == 0:
            self._forget_idle(now, rate.window)
        if len(log) < rate.limit:
            log.append(now)
            return Decision(True, rate.limit - len(log), 0.0)
        return Decision(False, 0, log[0] + rate.window - now)

    def _forget_idle(self, now: float, window: float) -> None:
        # Keys whose newest hit left the window hold nothing useful; drop them to bound memory.
        for key in [k for k, log in self._logs.items() if not log or log[-1] <= now - window]:
            del self._logs[key]


# KEYS[1] = the log; ARGV = window ms, limit, unique member. Returns {allowed, remaining, retry ms}.
SLIDING_LOG_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now}
"""


class RedisRateLimiter:
    """Sliding log in Redis, shared by every server process using the same URL and prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self._clients: dict[asyncio.AbstractEventLoop, aioredis.Redis] = {}

    def _client(self) -> aioredis.Redis:
        # redis.asyncio connections belong to one event loop; tests start several loops.
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients = {lp: c for lp, c in self._clients.items() if not lp.is_closed()}
            self._clients[loop] = aioredis.Redis.from_url(self.url, socket_connect_timeout=5)
        return self._clients[loop]

    async def hit(self, key: str, rate: Rate) -> Decision:
        """Record one request for `key` if under `rate`; say whether it is allowed."""
        window_ms = int(rate.window * 1000)
        try:
            allowed, remaining, retry_ms = await self._client().eval(
                SLIDING_LOG_LUA, 1, f"{self.prefix}:{key}", window_ms, rate.limit, uuid.uuid4().hex
            )
        except redis.RedisError as exc:
            # Fail open: an unreachable Redis must not take the whole API down with it.
            log.warning("rate limit not applied, Redis failed: %s", exc)
            return Decision(True, rate.limit, 0.0)
        return Decision(bool(allowed), int(remaining), int(retry_ms) / 1000)


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Redis-backed when `redis_url` is set, else in-process."""
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, settings.rate_limit_prefix)
    return MemoryRateLimiter()


@dataclass(frozen=True)
class RequestUser:
    """Who a request's credential names: enough to pick a tier and fill an audit row."""

    user_id: int
    team_id: int
    role: str


class CallerIdentifier:
    """Maps a Bearer credential to its user, cheaply: signature check, then a short-lived cache.

    Only used to choose a rate-limit tier and the audit actor; routes authenticate for real.
    """

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._cache: dict[str, tuple[float, RequestUser | None]] = {}

    async def identify(self, scope: Scope) -> RequestUser | None:
        """The user behind the request's `Authorization: Bearer` (or `?token=` on WebSockets)."""
        token = bearer_token(scope)
        if token is None:
            return None
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached and cached[0] > now:
            return cached[1]
        user = await asyncio.to_thread(self._lookup, token)
        if len(self._cache) >= IDENTITY_CACHE_MAX:
            self._cache.clear()
        self._cache[token] = (now + IDENTITY_TTL_SECONDS, user)
        return user

    def _lookup(self, token: str) -> RequestUser | None:
        from devmatrix_server.security.jwt import decode_token
        from devmatrix_server.security.tokens import PREFIX, token_hash

        with Session(self.engine) as session:
            if token.startswith(PREFIX):
                row = session.exec(
                    select(ApiToken).where(ApiToken.token_hash == token_hash(token))
                ).first()
                live = row and row.revoked_at is None and (row.expires_at or utcnow()) >= utcnow()
                user_id = row.user_id if row and live else None
            else:
                try:
                    user_id = int(decode_token(self.settings, token, purpose="access")["sub"])
                except (DevMatrixError, ValueError):
                    user_id = None
            if user_id is None:
                return None
            found = session.exec(
                select(User, Role).where(User.id == user_id, User.role_id == Role.id)
            ).first()
        if found is None or not found[0].is_active:
            return None
        return RequestUser(user_id, found[0].team_id, found[1].name)


def bearer_token(scope: Scope) -> str | None:
    """The Bearer credential of the request's `Authorization` header, if any."""
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            scheme, _, credential = str(value.decode("latin-1")).partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
            return None
    return None


async def request_user(scope: Scope, identifier: CallerIdentifier) -> RequestUser | None:
    """The request's user, identified once and kept in the request state for later middleware."""
    state = scope.setdefault("state", {})
    if "request_user" not in state:
        state["request_user"] = await identifier.identify(scope)
    user: RequestUser | None = state["request_user"]
    return user


class RateLimitMiddleware:
    """Applies the tiers: anonymous per IP, user and admin per user, and auth routes per IP."""

    def __init__(
        self, app: ASGIApp, *, limiter: RateLimiter, settings: Settings, engine: Engine
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.identifier = CallerIdentifier(settings, engine)
        self.tiers = {
            name: parse_rate(
                getattr(settings, f"rate_limit_{name}"),
                setting=f"DEVMATRIX_RATE_LIMIT_{name.upper()}",
            )
            for name in ("anonymous", "user", "admin", "auth")
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # Connection attempts count per address; the stream itself is long-lived.
            decision = await self.limiter.hit(f"ws:ip:{client_ip(scope)}", self.tiers["anonymous"])
            if not decision.allowed:
                await send({"type": "websocket.close", "code": 1008, "reason": "rate limited"})
                return
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        for key, rate in await self._rules(scope, path):
            decision = await self.limiter.hit(key, rate)
            if not decision.allowed:
                await _too_many(scope, send, decision, rate)
                return
        await self.app(scope, receive, send)

    async def _rules(self, scope: Scope, path: str) -> list[tuple[str, Rate]]:
        ip = client_ip(scope)
        rules = []
        if path.startswith(AUTH_PREFIX):
            rules.append((f"auth:ip:{ip}", self.tiers["auth"]))
        user = await request_user(scope, self.identifier)
        if user is None:
            rules.append((f"anon:ip:{ip}", self.tiers["anonymous"]))
        else:
            tier = "admin" if user.role == "admin" else "user"
            rules.append((f"user:{user.user_id}", self.tiers[tier]))
        return rules


async def _too_many(scope: Scope, send: Send, decision: Decision, rate: Rate) -> None:
    retry = max(1, math.ceil(decision.retry_after))
    body: dict[str, Any] = {
        "type": "urn:devmatrix:problem:rate-limited",
        "title": "Too Many Requests",
        "status": 429,
        "detail": f"Rate limit of {rate.limit} requests per {rate.window:g} seconds reached; "
        f"retry after {retry} seconds.",
        "instance": scope["path"],
    }
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(payload)).encode()),
        (b"retry-after", str(retry).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
