"""Server-Sent Events read from bytes, for the backend's streamed answers (WHATWG HTML,
"Interpreting an event stream").

Written by hand: httpx-sse, the usual choice, reads lines with httpx's splitlines-like decoder,
which also breaks a line at U+2028, U+0085 or a form feed that SSE keeps inside it; the rules a
client needs fit in one small class, and the language server's light install gains no dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSentEvent:
    """One event of a stream: its name (`message` when unnamed) and its data lines joined."""

    event: str
    data: str


class EventStreamParser:
    """Server-Sent Events from bytes in chunks of any size: lines end in CRLF, LF or CR (also
    split across chunks), `:` lines are comments, `data` lines join with newlines, a blank line
    ends an event, and an event the stream ends in the middle of is dropped."""

    def __init__(self) -> None:
        self._pending = b""
        self._first = True
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by `chunk`."""
        self._pending += chunk
        found: list[ServerSentEvent] = []
        start = 0
        while (end := _LINE_END.search(self._pending, start)) is not None:
            if end.group() == b"\r" and end.end() == len(self._pending):
                break  # half of a CRLF, perhaps: wait for the next chunk
            found.extend(self._line(self._pending[start : end.start()]))
            start = end.end()
        self._pending = self._pending[start:]
        return found

    def close(self) -> list[ServerSentEvent]:
        """The events completed by the end of the stream (a final CR ends its line)."""
        pending, self._pending = self._pending, b""
        found = self._line(pending[:-1]) if pending.endswith(b"\r") else []
        self._event, self._data = "", []
        return found

    def _line(self, raw: bytes) -> list[ServerSentEvent]:
        line = raw.decode("utf-8", errors="replace")
        if self._first:
            self._first = False
            line = line.removeprefix("\ufeff")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return []
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        return []  # `id` and `retry` serve reconnection, which a chat turn never does

    def _dispatch(self) -> list[ServerSentEvent]:
        event, data = self._event or "message", self._data
        self._event, self._data = "", []
        return [ServerSentEvent(event, "\n".join(data))] if data else []


_LINE_END = re.compile(rb"\r\n|\r|\n")
