"""The language server over stdio, as an editor starts it: initialize, settings, status command."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

CLIENTS = ["neovim", "visual-studio-code", "emacs"]


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "live"}).encode()
        self.send_response(200 if self.path == "/api/v1/health/live" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def fake_backend() -> Iterator[str]:
    """A real loopback HTTP server answering the health route as a backend does."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "devmatrix_lsp"]),
    params=CLIENTS,
)
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest) -> object:
    lsp_client.editor_name = request.param
    yield lsp_client
    await lsp_client.shutdown_session()


async def _initialize(client: LanguageClient, options: dict[str, str]) -> types.InitializeResult:
    """Initialize with the capabilities of the real editor this client plays."""
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(client.editor_name),
            initialization_options=options,
        )
    )


async def test_status_reports_a_reachable_backend(
    client: LanguageClient, fake_backend: str
) -> None:
    result = await _initialize(client, {"backendUrl": fake_backend})
    assert result.capabilities.execute_command_provider is not None
    assert "devmatrix.status" in result.capabilities.execute_command_provider.commands
    status = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="devmatrix.status")
    )
    assert status["state"] == "connected"
    assert status["backend"] == fake_backend


async def test_status_says_when_the_backend_is_unreachable(client: LanguageClient) -> None:
    await _initialize(client, {"backendUrl": "http://127.0.0.1:9"})
    status = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="devmatrix.status")
    )
    assert status["state"] == "unreachable"
    assert "unreachable" in status["message"]
    if not client.messages:
        await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    assert any("unreachable" in m.message for m in client.messages)
