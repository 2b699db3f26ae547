"""`devmatrix serve --port 0` as a real subprocess: URL on the first line, health answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from devmatrix.cli.serve import _bind, server_url
from devmatrix.errors import ConfigError


def test_server_url_maps_wildcards_to_loopback():
    assert server_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert server_url("127.0.0.1", 1) == "http://127.0.0.1:1"
    assert server_url("::1", 9) == "http://[::1]:9"


def test_serve_port_zero_prints_url_first_and_answers(tmp_path: Path):
    env = {**os.environ, "DEVMATRIX_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(
        [sys.executable, "-m", "devmatrix", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("http://127.0.0.1:")
        port = int(first.rsplit(":", 1)[1])
        assert port > 0
        answer = httpx.get(f"{first}/api/v1/health/live", timeout=30)
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok"}
        assert httpx.get(f"{first}/api/v1/auth/me", timeout=10).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert (tmp_path / "data" / "devmatrix.db").exists()


def test_serve_refuses_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"Cannot listen on 127.0.0.1:{port}"):
            _bind("127.0.0.1", port)


def test_serve_without_the_server_extra_says_how_to_install_it(tmp_path: Path):
    # A stand-in package that fails to import, as when the [server] extra is not installed.
    blocker = tmp_path / "blocked" / "fastapi"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'fastapi'\", name='fastapi')\n"
    )
    env = {
        **os.environ,
        "DEVMATRIX_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(tmp_path / "blocked"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "devmatrix", "serve", "--port", "0"],
        capture_output=True,
        env=env,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "missing module 'fastapi'" in done.stderr
    assert "pip install 'devmatrix[server]'" in done.stderr
    assert done.stdout == ""
