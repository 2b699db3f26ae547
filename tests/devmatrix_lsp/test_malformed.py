"""Bytes an editor should never send, sent over the real stdio pipe: each gets the JSON-RPC error
the spec names (parse error, invalid request, invalid params, method not found) and the server
goes on answering."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest


class Pipe:
    """A language server process spoken to in raw JSON-RPC frames."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    def send_bytes(self, body: bytes) -> None:
        """Frame and write `body` as it is."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def send(self, message: Any) -> None:
        """Frame and write a JSON value."""
        self.send_bytes(json.dumps(message).encode())

    async def receive(self) -> dict[str, Any]:
        """The next framed message from the server (notifications included)."""
        assert self.process.stdout is not None
        length = 0
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout=20)
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await asyncio.wait_for(self.process.stdout.readexactly(length), timeout=20)
        return dict(json.loads(body))

    async def answer(self) -> dict[str, Any]:
        """The next response (skipping the server's notifications and requests)."""
        while True:
            message = await self.receive()
            if "method" not in message:
                return message


@pytest.fixture
async def pipe() -> AsyncIterator[Pipe]:
    """A fresh language server on stdio, initialized without a backend to reach."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devmatrix_lsp",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    server = Pipe(process)
    server.send(
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "capabilities": {},
                "initializationOptions": {"backendUrl": "http://127.0.0.1:9"},
            },
        }
    )
    assert "capabilities" in (await server.answer())["result"]
    yield server
    process.kill()
    await process.wait()


async def test_each_bad_message_gets_its_error_and_the_server_goes_on(pipe: Pipe) -> None:
    pipe.send_bytes(b'{"jsonrpc": "2.0", "id": 1, "method": ')
    parse = await pipe.answer()
    assert parse["id"] is None
    assert parse["error"]["code"] == -32700

    pipe.send([1, 2, 3])
    batch = await pipe.answer()
    assert batch["error"]["code"] == -32600

    pipe.send({"id": 2, "method": "shutdown"})  # no "jsonrpc"
    missing = await pipe.answer()
    assert missing == {"jsonrpc": "2.0", "id": 2, "error": missing["error"]}
    assert missing["error"]["code"] == -32600

    pipe.send({"jsonrpc": "2.0", "id": 3, "method": "textDocument/codeAction", "params": {"x": 1}})
    params = await pipe.answer()
    assert params["id"] == 3
    assert params["error"]["code"] == -32602
    assert "textDocument/codeAction" in params["error"]["message"]

    pipe.send({"jsonrpc": "2.0", "id": 4, "method": "devmatrix/nothing", "params": {}})
    unknown = await pipe.answer()
    assert unknown["id"] == 4
    assert unknown["error"]["code"] == -32601

    pipe.send(
        {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "workspace/executeCommand",
            "params": {"command": "devmatrix.review.approve", "arguments": [{"itemId": -1}]},
        }
    )
    bad = await pipe.answer()
    assert bad["error"]["code"] == -32602
    assert "itemId" in bad["error"]["message"]

    pipe.send({"jsonrpc": "2.0", "id": 6, "method": "shutdown"})
    assert (await pipe.answer()) == {"jsonrpc": "2.0", "id": 6, "result": None}
