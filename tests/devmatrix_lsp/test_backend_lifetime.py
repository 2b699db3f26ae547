"""A private backend never outlives the language server that started it, however it ends: the
language server holds the backend's standard input open, and the backend stops when it closes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.devmatrix_lsp.test_malformed import Pipe

STOP_SECONDS = 20


async def _health(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/api/v1/health/live")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_a_killed_language_server_takes_its_private_backend_down(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devmatrix_lsp",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "DEVMATRIX_BACKEND_URL": "", "DEVMATRIX_TOKEN": ""},
    )
    server = Pipe(process)
    try:
        options = {"dataDir": str(tmp_path / "data")}
        params = {
            "capabilities": {},
            "rootUri": tmp_path.as_uri(),
            "initializationOptions": options,
        }
        server.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params})
        assert "capabilities" in (await server.answer())["result"]
        server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        status = {"command": "devmatrix.status", "arguments": []}
        server.send(
            {"jsonrpc": "2.0", "id": 1, "method": "workspace/executeCommand", "params": status}
        )
        result = (await asyncio.wait_for(server.answer(), 90))["result"]
        assert result["state"] == "connected", result
        url = result["backend"]
        assert url.startswith("http://127.0.0.1:")
        assert await _health(url)
    finally:
        process.send_signal(signal.SIGKILL)  # no shutdown, no exit: the editor crashed
        await process.wait()

    deadline = time.monotonic() + STOP_SECONDS
    while await _health(url):
        assert time.monotonic() < deadline, f"the private backend at {url} outlived its server"
        await asyncio.sleep(0.2)


def test_serve_stops_when_its_standard_input_closes(tmp_path: Path) -> None:

    env = {**os.environ, "DEVMATRIX_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "devmatrix", "serve", "--port", "0", "--stop-with-stdin"]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    ) as serve:
        assert serve.stdout is not None
        assert serve.stdin is not None
        url = serve.stdout.readline().decode().strip()
        assert httpx.get(f"{url}/api/v1/health/live", timeout=30).status_code == 200
        serve.stdin.close()
        assert serve.wait(timeout=STOP_SECONDS) == 0
