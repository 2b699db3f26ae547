"""Redis pub/sub transport for the event bus, so several server processes share one stream.

Events are stored in the database first; Redis only carries the live notification. One listener
thread per process reads the channel and feeds the local subscribers; after a reconnect every
subscriber is told to catch up from the database, so a Redis hiccup loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import redis
from sqlalchemy import Engine

from devmatrix.errors import StorageError
from devmatrix.events.bus import EventBus
from devmatrix.events.types import StoredEvent

log = logging.getLogger(__name__)
SUBSCRIBE_TIMEOUT_SECONDS = 10.0
RECONNECT_DELAY_SECONDS = 1.0


class RedisEventBus(EventBus):
    """Event bus whose live events travel over one Redis pub/sub channel."""

    implementation = "redis"

    def __init__(self, engine: Engine, url: str, channel: str) -> None:
        super().__init__(engine)
        self.url = url
        self.channel = channel
        self._client = redis.Redis.from_url(url, socket_connect_timeout=5)
        self._listener: threading.Thread | None = None
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self._start_lock = threading.Lock()

    def _broadcast(self, stored: StoredEvent) -> None:
        # Local subscribers get it back through the listener: one delivery path for all.
        try:
            self._client.publish(self.channel, stored.model_dump_json())
        except redis.RedisError as exc:
            # The event is stored; listeners that lost Redis catch up from the log on reconnect.
            log.warning("event %s stored but not broadcast over Redis: %s", stored.id, exc)

    async def _ready(self) -> None:
        self._ensure_listener()
        subscribed = await asyncio.to_thread(self._subscribed.wait, SUBSCRIBE_TIMEOUT_SECONDS)
        if not subscribed:
            raise StorageError(
                f"Could not subscribe to Redis channel {self.channel!r} at {self._safe_url()}.",
                "Check that DEVMATRIX_REDIS_URL points to a running Redis.",
            )

    def _ensure_listener(self) -> None:
        with self._start_lock:
            if self._listener is None or not self._listener.is_alive():
                self._stop.clear()
                self._listener = threading.Thread(
                    target=self._listen, name="devmatrix-events-redis", daemon=True
                )
                self._listener.start()

    def _listen(self) -> None:
        first = True
        while not self._stop.is_set():
            pubsub = self._client.pubsub()  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self.channel)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        if not first:
                            self.fanout.mark_all_lagged()
                        first = False
                        self._subscribed.set()
                    elif message["type"] == "message":
                        self.fanout.dispatch(StoredEvent.model_validate_json(message["data"]))
            except redis.RedisError as exc:
                log.warning("Redis event listener lost its connection, retrying: %s", exc)
                self._stop.wait(RECONNECT_DELAY_SECONDS)
            finally:
                pubsub.close()

    def close(self) -> None:
        """Stop the listener thread and close the Redis connections."""
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._client.close()

    def check(self) -> str:
        """Ping Redis and read the log; return a one-line description."""
        super().check()
        self._client.ping()
        return f"events stored in the database, broadcast over {self._safe_url()} ({self.channel})"

    def _safe_url(self) -> str:
        return self.url.split("@")[-1] if "@" in self.url else self.url
