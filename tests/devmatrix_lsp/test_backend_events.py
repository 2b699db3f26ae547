"""`Backend.events` against a raw loopback HTTP server that answers exactly the bytes a test gives:
a stream cut in the middle of a chunk, a stream that ends without `done`, an `error` event, a
refusal before the stream, and a backend that answers whole (JSON)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from devmatrix_lsp.backend import Backend, BackendRefused, BackendUnavailable
from devmatrix_lsp.settings import Settings

PATH = "/api/v1/conversations/3/messages"


def head(status: str, kind: str, *, chunked: bool) -> bytes:
    """A response head; chunked bodies are how a streaming server sends."""
    length = "Transfer-Encoding: chunked" if chunked else "Connection: close"
    return f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n{length}\r\n\r\n".encode()


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@asynccontextmanager
async def raw_server(answer: bytes) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that reads one request, writes `answer` and closes; yields its URL and requests."""
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        requests.append(request + await reader.readexactly(length))
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", requests
    finally:
        server.close()
        await server.wait_closed()


async def read_all(answer: bytes) -> tuple[list[tuple[str, Any]], list[bytes]]:
    """Every event `Backend.events` yields for `answer`, and the requests the server saw."""
    found: list[tuple[str, Any]] = []
    async with raw_server(answer) as (url, requests):
        backend = Backend(Settings(backend_url=url, token="dmx_test"), None)
        try:
            async for event in backend.events(PATH, json={"content": "hi"}):
                found.append(event)
        finally:
            await backend.close()
    return found, requests


STREAM = head("200 OK", "text/event-stream; charset=utf-8", chunked=True)
INTENT = b'event: intent\ndata: {"intent": "question"}\n\n'


async def test_a_whole_stream_ends_at_done_and_asks_for_an_event_stream() -> None:
    done = {"intent": "question", "reply": {"content": "ab"}, "plan_id": None}
    body = [
        INTENT,
        b': keep-alive\n\nevent: delta\ndata: {"text": "a"}\n\nevent: del',
        b'ta\r\ndata: {"text": "b"}\r\n\r\n',
    ]
    body.append(f"event: done\ndata: {json.dumps(done)}\n\n".encode())
    found, requests = await read_all(STREAM + b"".join(map(chunk, body)) + chunk(b""))
    assert found == [
        ("intent", {"intent": "question"}),
        ("delta", {"text": "a"}),
        ("delta", {"text": "b"}),
        ("done", done),
    ]
    assert b"accept: text/event-stream" in requests[0].lower()
    assert requests[0].endswith(b'{"content":"hi"}')


async def test_a_stream_cut_in_the_middle_of_a_chunk_is_a_clear_error() -> None:
    cut = STREAM + chunk(INTENT) + b'40\r\nevent: delta\ndata: {"te'
    with pytest.raises(BackendUnavailable, match="broke in the middle of the answer"):
        await read_all(cut)


async def test_a_stream_that_ends_without_done_is_a_clear_error() -> None:
    ended = STREAM + chunk(INTENT + b'event: delta\ndata: {"text": "a"}\n\n') + chunk(b"")
    with pytest.raises(BackendUnavailable, match="ended the stream before the answer was complete"):
        await read_all(ended)


async def test_an_error_event_is_refused_with_the_problem_detail() -> None:
    problem = {
        "type": "about:blank",
        "title": "Model unavailable",
        "status": 503,
        "detail": "The model provider did not answer; try again in a minute.",
    }
    body = INTENT + f"event: error\ndata: {json.dumps(problem)}\n\n".encode()
    with pytest.raises(BackendRefused) as refused:
        await read_all(STREAM + chunk(body) + chunk(b""))
    assert refused.value.status == 503
    assert str(refused.value) == problem["detail"]


@pytest.mark.parametrize(
    ("answer", "check"),
    [
        (
            head("429 Too Many Requests", "application/problem+json", chunked=False)
            + b'{"title": "Too many requests", "status": 429, "detail": "Quota used up."}',
            lambda exc: exc.status == 429 and str(exc) == "Quota used up.",
        ),
        (
            head("200 OK", "text/html", chunked=False) + b"<html>a proxy page</html>",
            lambda exc: exc.status == 502 and "neither an event stream nor JSON" in str(exc),
        ),
    ],
)
async def test_a_refusal_before_the_stream_is_refused(
    answer: bytes, check: Callable[[BackendRefused], bool]
) -> None:
    with pytest.raises(BackendRefused) as refused:
        await read_all(answer)
    assert check(refused.value), refused.value


async def test_a_backend_that_answers_whole_gives_one_done() -> None:
    reply = {"intent": "question", "reply": {"content": "whole"}, "plan_id": None}
    found, _ = await read_all(
        head("201 Created", "application/json", chunked=False) + json.dumps(reply).encode()
    )
    assert found == [("done", reply)]
