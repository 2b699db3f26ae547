"""Server-Sent Events fed from another thread: the work runs on the run loop, the response is
written by a worker thread reading a queue.

The work pushes named events (`emit`) and ends the stream (`close`); the response iterates
`frames()`, which sends a keep-alive comment whenever nothing has arrived for a while, so
proxies and clients waiting on a slow model do not time the connection out. The work never
waits for the reader: a client that goes away only stops the frames, not the work.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from typing import Any, Final

EVENT_STREAM = "text/event-stream"
STREAM_HEADERS: Final = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEP_ALIVE_SECONDS = 15.0
_END: Final = object()


def wants_event_stream(accept: str | None) -> bool:
    """True when an Accept header asks for `text/event-stream` (with any parameters)."""
    return any(
        part.split(";", 1)[0].strip().lower() == EVENT_STREAM for part in (accept or "").split(",")
    )


def sse_frame(event: str, data: Any) -> bytes:
    """One event: its name and its data as one line of JSON (JSON escapes every newline)."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class EventStream:
    """A one-way, thread-safe queue of events that ends with `close`."""

    def __init__(self, keep_alive_seconds: float = KEEP_ALIVE_SECONDS) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.keep_alive_seconds = keep_alive_seconds

    def emit(self, event: str, data: Any) -> None:
        """Queue one event (any thread, never blocks)."""
        self._queue.put(sse_frame(event, data))

    def close(self) -> None:
        """End the stream after the events already queued."""
        self._queue.put(_END)

    def frames(self) -> Iterator[bytes]:
        """The encoded events, then the end; keep-alive comments while waiting."""
        while True:
            try:
                item = self._queue.get(timeout=self.keep_alive_seconds)
            except queue.Empty:
                yield b": keep-alive\n\n"
                continue
            if item is _END:
                return
            assert isinstance(item, bytes)
            yield item
