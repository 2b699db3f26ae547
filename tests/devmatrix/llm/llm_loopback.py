"""A loopback HTTP server that plays queued replies, speaking the Anthropic and OpenAI wire formats.

The real SDKs talk to it over TCP; it counts and records every request so tests can assert that
a cache hit or a budget stop made none.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One queued answer: a status, headers, and either a body or a list of SSE events."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str | None, str]] | None = None
    delay: float = 0.0


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class LoopbackServer:
    """Serves queued `Reply`s in order on 127.0.0.1; an unexpected request gets a 599."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def gap(self, first: int, second: int) -> float:
        """Seconds between the arrival of two recorded requests."""
        return self.requests[second].at - self.requests[first].at

    def push(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            if self.replies:
                return self.replies.popleft()
        return Reply(status=599, body=b'{"error": "no reply queued"}')

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length) if length else b"{}"
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen = Seen(self.command, self.path, headers, json.loads(raw))
                reply = server._next(seen)
                time.sleep(reply.delay)
                # A client that gave up (a timeout test) has nothing left to be told.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                content_type = (
                    "text/event-stream" if reply.events is not None else "application/json"
                )
                self.send_header("content-type", content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.events is None:
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("connection", "close")
                self.end_headers()
                for event, data in reply.events:
                    prefix = f"event: {event}\n" if event else ""
                    self.wfile.write(f"{prefix}data: {data}\n\n".encode())
                    self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler


def json_reply(payload: dict[str, Any], status: int = 200, **headers: str) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), headers=headers)


# --- Anthropic Messages API -------------------------------------------------------------------


def anthropic_message(
    text: str,
    *,
    model: str = "claude-test",
    input_tokens: int = 10,
    output_tokens: int = 5,
    cache_read: int = 0,
    cache_write: int = 0,
    tool_input: dict[str, Any] | None = None,
) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    if tool_input is not None:
        content.append({"type": "tool_use", "id": "toolu_1", "name": "answer", "input": tool_input})
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if tool_input is not None else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": cache_write,
        },
    }


def anthropic_stream(
    pieces: list[str],
    *,
    model: str = "claude-test",
    input_tokens: int = 10,
    output_tokens: int = 5,
    cache_read: int = 0,
    cache_write: int = 0,
    tool_json: list[str] | None = None,
) -> Reply:
    start = anthropic_message("", model=model, input_tokens=input_tokens, output_tokens=1)
    start["usage"]["cache_read_input_tokens"] = cache_read
    start["usage"]["cache_creation_input_tokens"] = cache_write
    start["stop_reason"] = None
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    if tool_json is None:
        block: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in pieces]
    else:
        block = {"type": "tool_use", "id": "toolu_1", "name": "answer", "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in tool_json]
    events.append(
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block})
    )
    for delta in deltas:
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    stop = "tool_use" if tool_json is not None else "end_turn"
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return Reply(events=[(name, json.dumps(data)) for name, data in events])


def anthropic_error(status: int, kind: str, message: str, **headers: str) -> Reply:
    return json_reply(
        {"type": "error", "error": {"type": kind, "message": message}}, status, **headers
    )


# --- OpenAI chat completions ------------------------------------------------------------------


def openai_completion(
    text: str,
    *,
    model: str = "local-test",
    prompt_tokens: int = 12,
    completion_tokens: int = 4,
    cached_tokens: int = 0,
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }


def openai_stream(
    pieces: list[str],
    *,
    model: str = "local-test",
    prompt_tokens: int = 12,
    completion_tokens: int = 4,
    with_usage: bool = True,
) -> Reply:
    def chunk(delta: dict[str, Any], finish: str | None) -> str:
        return json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    events: list[tuple[str | None, str]] = [
        (None, chunk({"role": "assistant", "content": ""}, None))
    ]
    events += [(None, chunk({"content": p}, None)) for p in pieces]
    events.append((None, chunk({}, "stop")))
    if with_usage:
        usage = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        events.append((None, json.dumps(usage)))
    events.append((None, "[DONE]"))
    return Reply(events=events)


def openai_error(status: int, message: str, **headers: str) -> Reply:
    return json_reply({"error": {"message": message, "type": "server_error"}}, status, **headers)
