"""With Redis, one limit holds across two real uvicorn server processes."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine
from devmatrix_server.ratelimit import Rate, RedisRateLimiter

SERVER = textwrap.dedent(
    """
    import sys

    import uvicorn
    from fastapi import FastAPI

    from devmatrix.config import load_settings
    from devmatrix.storage.db import open_database
    from devmatrix_server.observability import install_ops

    redis_url, prefix, database_url, port = sys.argv[1:5]
    settings = load_settings(
        redis_url=redis_url,
        rate_limit_prefix=prefix,
        events_channel=prefix,
        rate_limit_anonymous="10/minute",
        database_url=database_url,
    )
    app = FastAPI()
    app.state.settings = settings
    app.state.engine = open_database(settings.effective_database_url)
    install_ops(app, settings)


    @app.get("/api/v1/things")
    def things() -> dict[str, int]:
        return {"port": int(port)}


    @app.get("/api/v1/health/live")
    def live() -> dict[str, bool]:
        return {"ok": True}


    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(f"{base}/api/v1/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"server at {base} did not start")


@pytest.fixture
def two_servers(redis_url: str, tmp_path: Path) -> Iterator[list[str]]:
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrate.upgrade(create_db_engine(database_url))
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    prefix = f"test:rl:{uuid.uuid4().hex}"
    procs, bases, logs = [], [], []
    for n in range(2):
        port = free_port()
        logs.append(tmp_path / f"server{n}.log")
        with logs[-1].open("wb") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(script), redis_url, prefix, database_url, str(port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base, proc, log_path in zip(bases, procs, logs, strict=True):
            wait_until_up(base, proc, log_path)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.mark.slow
def test_limit_holds_across_two_server_processes(two_servers: list[str]) -> None:
    codes: dict[str, list[int]] = {base: [] for base in two_servers}
    for _ in range(6):  # 12 requests from one address, alternating servers; the limit is 10
        for base in two_servers:
            codes[base].append(httpx.get(f"{base}/api/v1/things").status_code)
    every = [c for base in two_servers for c in codes[base]]
    assert every.count(200) == 10
    assert every.count(429) == 2
    assert all(200 in c for c in codes.values())  # both processes answered, sharing one window
    refused = httpx.get(f"{two_servers[0]}/api/v1/things")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_redis_limiter_is_a_sliding_window(redis_url: str) -> None:
    limiter = RedisRateLimiter(redis_url, f"test:rl:{uuid.uuid4().hex}")
    rate = Rate(2, 0.5)
    assert [(await limiter.hit("k", rate)).allowed for _ in range(3)] == [True, True, False]
    refused = await limiter.hit("k", rate)
    assert 0 < refused.retry_after <= 0.5
    assert (await limiter.hit("other", rate)).allowed  # keys are independent
    await asyncio.sleep(0.55)
    assert (await limiter.hit("k", rate)).allowed
