"""The backend's event stream over WebSocket: reconnects with backoff and resumes after the last
event seen (`?last_event_id=`), so nothing published while the link was down is missed."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from devmatrix_lsp.backend import Backend, BackendUnavailable

logger = logging.getLogger(__name__)
FIRST_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 8.0

EventHandler = Callable[[dict[str, Any]], None]
StateHandler = Callable[[], None]


class StreamRefused(Exception):
    """The backend refused the subscription (bad token, unknown plan)."""


class EventStream:
    """Follows one backend's team events and hands each to `on_event`, in order."""

    def __init__(self, backend: Backend, on_event: EventHandler, on_state: StateHandler) -> None:
        self.backend = backend
        self.on_event = on_event
        self.on_state = on_state
        self.last_event_id: int | None = None
        self.subscribed = asyncio.Event()
        self.connections = 0

    async def run(self) -> None:
        """Stay subscribed until cancelled; after each failure wait (backoff) and resume."""
        delay = FIRST_DELAY_SECONDS
        while True:
            try:
                await self._follow()
                reason = "The backend closed the event stream."
            except (OSError, TimeoutError, WebSocketException, BackendUnavailable) as exc:
                reason = f"The backend's event stream is unreachable ({exc or type(exc).__name__})."
            except StreamRefused as exc:
                reason = f"The backend refused the event stream: {exc}"
            if self.subscribed.is_set():
                delay = FIRST_DELAY_SECONDS  # it worked for a while: retry soon
            self.subscribed.clear()
            self.backend.mark_unreachable(f"{reason} Retrying in {delay:.1f} s.")
            self.on_state()
            await asyncio.sleep(delay * (1 + random.random() / 4))  # noqa: S311 - jitter only
            delay = min(delay * 2, MAX_DELAY_SECONDS)

    async def _follow(self) -> None:
        await self.backend.ensure()
        url, token = self.backend.websocket_url()
        if self.last_event_id is not None:
            url = f"{url}?last_event_id={self.last_event_id}"
        async with connect(url, proxy=None, open_timeout=10, max_size=None) as socket:
            if token:
                await socket.send(json.dumps({"token": token}))
            async for raw in socket:
                self._receive(json.loads(raw))

    def _receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "subscribed":
            if self.last_event_id is None:
                self.last_event_id = message.get("last_event_id")
            self.connections += 1
            self.subscribed.set()
            self.backend.mark_connected()
            self.on_state()
        elif kind == "error":
            raise StreamRefused(str(message.get("detail")))
        elif isinstance(message.get("id"), int):
            self.last_event_id = message["id"]
            try:
                self.on_event(message)
            except (KeyError, TypeError, ValueError):
                logger.exception("Could not apply event %s", message.get("id"))
