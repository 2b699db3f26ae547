"""Content-addressed response cache: identical requests to the same provider and model are answered
from storage. One interface, two implementations: the database (default) and Redis (when
DEVMATRIX_REDIS_URL is set). Entries expire after DEVMATRIX_CACHE_TTL_SECONDS.

A fresh answer is stored together with the usage row of the call that produced it, so a process
killed in between loses neither: in one transaction with the database cache; with Redis the answer
goes first (a lost usage row is better than paying for the same generation twice on resume).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Protocol

import redis
from sqlalchemy import Engine, delete, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from devmatrix.llm.types import LLMRequest, LLMResponse
from devmatrix.storage.db import autocommit, session_scope
from devmatrix.storage.models import LLMCacheEntry, UsageRecord, utcnow


def cache_key(provider: str, model: str, request: LLMRequest) -> str:
    """sha256 of the canonical JSON of everything that determines the answer."""
    determining = {
        "provider": provider,
        "model": model,
        "system": request.system,
        "messages": [m.model_dump() for m in request.messages],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "json_schema": request.json_schema,
    }
    canonical = json.dumps(determining, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache(Protocol):
    """Where cached answers live; `kind` names the implementation for `devmatrix doctor`."""

    kind: str

    def get(self, key: str) -> LLMResponse | None:
        """The stored answer under `key`, or None when absent or expired."""
        ...

    def put(self, key: str, response: LLMResponse, usage: UsageRecord) -> None:
        """Store `response` under `key` for the cache's time to live, and the call's `usage` row."""
        ...

    def ping(self) -> None:
        """Raise when the storage behind the cache cannot be reached."""
        ...

    def close(self) -> None:
        """Release connections the cache holds."""
        ...


class DatabaseCache:
    """Cache rows in the `llm_cache_entry` table; expired rows are ignored and replaced."""

    kind = "database"

    def __init__(self, engine: Engine, ttl_seconds: int) -> None:
        self.engine = engine
        self.ttl = timedelta(seconds=ttl_seconds)

    def get(self, key: str) -> LLMResponse | None:
        query = select(LLMCacheEntry.response_json).where(
            col(LLMCacheEntry.key) == key, col(LLMCacheEntry.expires_at) > utcnow()
        )
        # One SELECT as its own transaction: no BEGIN/COMMIT round trips on every model call.
        with autocommit(self.engine) as connection:
            found = connection.execute(query).scalars().first()
        return None if found is None else LLMResponse.model_validate_json(found)

    def put(self, key: str, response: LLMResponse, usage: UsageRecord) -> None:
        now = utcnow()
        entry = LLMCacheEntry(
            key=key,
            provider=response.provider,
            model=response.model[:100],
            response_json=response.model_dump_json(),
            created_at=now,
            expires_at=now + self.ttl,
        )
        try:
            with session_scope(self.engine) as session:
                session.execute(delete(LLMCacheEntry).where(col(LLMCacheEntry.key) == key))
                session.add(entry)
                session.add(usage)
        except IntegrityError:
            # A concurrent call stored the same key first; its answer is as good as ours, but
            # this call was made and paid for all the same.
            record_usage(self.engine, usage)  # rolled back, so transient again

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        """Nothing to release: the engine belongs to the caller."""


class RedisCache:
    """Cache values in Redis under `prefix + key`, expiring through Redis' own TTL."""

    kind = "redis"

    def __init__(
        self, url: str, ttl_seconds: int, engine: Engine, *, prefix: str = "devmatrix:llm-cache:"
    ) -> None:
        self.url = url
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def get(self, key: str) -> LLMResponse | None:
        raw = self._redis.get(self.prefix + key)
        if raw is None:
            return None
        return LLMResponse.model_validate_json(raw)

    def put(self, key: str, response: LLMResponse, usage: UsageRecord) -> None:
        self._redis.set(self.prefix + key, response.model_dump_json(), ex=self.ttl_seconds)
        record_usage(self.engine, usage)

    def ping(self) -> None:
        self._redis.ping()

    def close(self) -> None:
        """Release the connection pool."""
        self._redis.close()


def record_usage(engine: Engine, usage: UsageRecord) -> None:
    """Insert one usage row in its own transaction."""
    with session_scope(engine) as session:
        session.add(usage)
