"""A private backend never outlives the language server that started it, however it ends: the
language server holds the backend's standard input open, and the backend stops when it closes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.devmatrix_lsp.test_malformed import Pipe

STOP_SECONDS = 20
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "execution"


async def _health(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/api/v1/health/live")).status_code == 200
    except httpx.HTTPError:
        return False


@asynccontextmanager
async def language_server(workspace: Path) -> AsyncIterator[Pipe]:
    """`devmatrix-lsp` on stdio, initialized on `workspace` with no backend URL (so it starts a
    private one on first use); killed with SIGKILL at the end unless it already exited."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devmatrix_lsp",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "DEVMATRIX_BACKEND_URL": "", "DEVMATRIX_TOKEN": ""},
    )
    server = Pipe(process)
    try:
        options = {"dataDir": str(workspace / "data")}
        params = {
            "capabilities": {},
            "rootUri": workspace.as_uri(),
            "initializationOptions": options,
        }
        server.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params})
        assert "capabilities" in (await server.answer())["result"]
        server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)  # no shutdown, no exit: as if the editor crashed
            await process.wait()


def send_command(server: Pipe, number: int, name: str, argument: object = None) -> None:
    """Send workspace/executeCommand `name` with one argument object (or none)."""
    params = {"command": name, "arguments": [argument] if argument is not None else []}
    server.send(
        {"jsonrpc": "2.0", "id": number, "method": "workspace/executeCommand", "params": params}
    )


async def command(server: Pipe, number: int, name: str, argument: object = None) -> dict[str, Any]:
    """Run a command and return its whole answer (result or error)."""
    send_command(server, number, name, argument)
    return await asyncio.wait_for(server.answer(), 120)


async def test_a_killed_language_server_takes_its_private_backend_down(tmp_path: Path) -> None:
    async with language_server(tmp_path) as server:
        result = (await command(server, 1, "devmatrix.status"))["result"]
        assert result["state"] == "connected", result
        url = result["backend"]
        assert url.startswith("http://127.0.0.1:")
        assert await _health(url)

    deadline = time.monotonic() + STOP_SECONDS
    while await _health(url):
        assert time.monotonic() < deadline, f"the private backend at {url} outlived its server"
        await asyncio.sleep(0.2)


def test_serve_stops_when_its_standard_input_closes(tmp_path: Path) -> None:
    env = {**os.environ, "DEVMATRIX_DATA_DIR": str(tmp_path / "data")}
    serve_command = [sys.executable, "-m", "devmatrix", "serve", "--port", "0", "--stop-with-stdin"]
    with subprocess.Popen(
        serve_command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as serve:
        assert serve.stdout is not None
        assert serve.stdin is not None
        url = serve.stdout.readline().decode().strip()
        assert httpx.get(f"{url}/api/v1/health/live", timeout=30).status_code == 200
        serve.stdin.close()
        assert serve.wait(timeout=STOP_SECONDS) == 0


async def test_new_settings_replace_a_running_private_backend(tmp_path: Path) -> None:
    # Same data folder, new settings: the old backend stops, the new one answers with its own
    # token, and nothing of the old connection comes back to revoke it.
    (tmp_path / "spec.md").write_text((FIXTURES / "calc_spec.md").read_text(), "utf-8")
    async with language_server(tmp_path) as server:
        first = (await command(server, 1, "devmatrix.status"))["result"]
        assert isinstance(first, dict)
        assert first["state"] == "connected", first
        changed = {
            "devmatrix": {
                "provider": "scripted",
                "scriptedAnswers": str(FIXTURES / "calc_answers.json"),
                "backendUrl": None,
            }
        }
        server.send(
            {
                "jsonrpc": "2.0",
                "method": "workspace/didChangeConfiguration",
                "params": {"settings": changed},
            }
        )
        planned = await command(server, 2, "devmatrix.plan.fromSpec", {"path": "spec.md"})
        assert "result" in planned, planned
        assert isinstance(planned["result"], dict)
        assert planned["result"]["planId"]
        second = (await command(server, 3, "devmatrix.status"))["result"]
        assert isinstance(second, dict)
        assert second["state"] == "connected"
        assert second["backend"] != first["backend"]
        assert not await _health(str(first["backend"]))


async def test_shutdown_while_a_request_waits_for_the_backend(tmp_path: Path) -> None:
    async with language_server(tmp_path) as server:
        for number in (1, 2, 3):  # three requests waiting for the private backend to start
            send_command(server, number, "devmatrix.status")
        server.send({"jsonrpc": "2.0", "id": 9, "method": "shutdown", "params": None})
        answers: dict[object, dict[str, object]] = {}
        while 9 not in answers:
            answer = await asyncio.wait_for(server.answer(), 120)
            answers[answer.get("id")] = answer
        assert "error" not in answers[9], answers[9]
        assert answers[9]["result"] is None
        server.send({"jsonrpc": "2.0", "method": "exit", "params": None})
        process = server.process
        assert await asyncio.wait_for(process.wait(), 30) == 0
        assert process.stderr is not None
        assert b"Traceback" not in await process.stderr.read()
