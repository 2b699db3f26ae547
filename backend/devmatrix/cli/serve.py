"""`devmatrix serve`: the HTTP API under uvicorn, on embedded defaults (SQLite, in-process bus).

The first line on stdout is the server's URL, so a client (the language server) can start a
private server on `--port 0` and read where it listens.
"""

from __future__ import annotations

import importlib
import socket
import sys
import threading
from typing import Any

import typer

from devmatrix.cli.app import app
from devmatrix.config import get_settings
from devmatrix.errors import ConfigError


def _load_server() -> tuple[Any, Any]:
    """Import uvicorn and the app factory lazily: the CLI works without the server extra."""
    try:
        uvicorn = importlib.import_module("uvicorn")
        return uvicorn, importlib.import_module("devmatrix_server.app").create_app
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"The DevMatrix server is not installed (missing module {exc.name!r}).",
            "Install it with: pip install 'devmatrix[server]'",
        ) from None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port}: {exc.strerror}.",
            "Pick another --port, or --port 0 for any free one.",
        ) from None
    # Listening before the URL is printed lets a client connect at once; uvicorn accepts later.
    sock.listen(2048)
    return sock


def server_url(host: str, port: int) -> str:
    """The URL a local client uses to reach a server bound to `host`:`port`."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - mapping a wildcard bind to loopback
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port; 0 picks a free one."),
    stop_with_stdin: bool = typer.Option(
        False,
        "--stop-with-stdin",
        help="Stop when standard input closes: a parent that starts a private server keeps a pipe "
        "open, so the server ends with it even when the parent is killed.",
    ),
) -> None:
    """Run the DevMatrix API server; prints its URL as the first line of output."""
    uvicorn, create_app = _load_server()
    api = create_app(get_settings())
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    sys.stdout.write(server_url(host, bound_port) + "\n")
    sys.stdout.flush()
    # Access lines are left to the server's own structured logging; uvicorn's go to stderr.
    config = uvicorn.Config(api, access_log=False, log_level="info", lifespan="on")
    server = uvicorn.Server(config)
    if stop_with_stdin:
        threading.Thread(target=_exit_on_eof, args=(server,), daemon=True).start()
    server.run(sockets=[sock])


def _exit_on_eof(server: Any) -> None:
    """Read standard input to its end (the parent's side closed), then stop the server."""
    while sys.stdin.buffer.read(4096):
        pass
    server.should_exit = True
