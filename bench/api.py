"""Benchmark the API over loopback: a real `devmatrix serve --port 0` in a subprocess.

Measures an authenticated GET (plan run status) and POST (chat message, scripted model) with N
concurrent keep-alive connections, against the health/live route as the baseline of the same
run; and events/s delivered to 100 WebSocket subscribers (events published over Redis from this
process, against one subscriber as baseline). Target for the GET on 2 cores: >= 1,000 req/s with
p99 <= 50 ms.

The load generator is a minimal HTTP/1.1 keep-alive client on asyncio streams, written here
because httpx spends more CPU per request than the server does, so it would measure itself. It
still reads every response whole (Content-Length or chunked) and checks its status and JSON body;
a failed check is an error, and a GET with errors does not meet the target. Each figure also gives
the server's and the load generator's CPU per request: both share the machine's cores.

    python bench/api.py [--concurrency 32] [--seconds 5] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
CALC = ROOT / "tests" / "fixtures" / "execution"
PASSWORD = "orbit velvet cactus lantern"  # noqa: S105 -- a throwaway server's account
REDIS_URL = os.environ.get("DEVMATRIX_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def answers_file(folder: Path) -> Path:
    """The calc answers plus the chat turn the POST benchmark sends."""
    answers = json.loads((CALC / "calc_answers.json").read_text(encoding="utf-8"))["answers"]
    answers += [
        {"purpose": "intent", "answer": {"intent": "question"}},
        {"purpose": "chat", "answer": "An atom is one top-level symbol of about ten lines."},
    ]
    path = folder / "answers.json"
    path.write_text(json.dumps({"answers": answers}), encoding="utf-8")
    return path


def redis_reachable() -> bool:
    """True when the Redis for the event benchmark answers a ping."""
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 -- any failure means "no Redis": the events part is skipped
        return False


def start_server(
    folder: Path, use_redis: bool
) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    """`devmatrix serve --port 0` on a fresh data folder; returns the process, URL and env."""
    env = {
        **os.environ,
        "DEVMATRIX_DATA_DIR": str(folder / "data"),
        "DEVMATRIX_JWT_SECRET": "bench-secret-" + "x" * 40,
        "DEVMATRIX_LLM_PROVIDER": "scripted",
        "DEVMATRIX_SCRIPTED_ANSWERS": str(answers_file(folder)),
        "DEVMATRIX_RATE_LIMIT_ENABLED": "false",
        "DEVMATRIX_ARGON2_PROFILE": "fast",
    }
    if use_redis:
        env["DEVMATRIX_REDIS_URL"] = REDIS_URL
        env["DEVMATRIX_EVENTS_CHANNEL"] = f"devmatrix:bench:{uuid.uuid4().hex}"
    process = subprocess.Popen(
        [sys.executable, "-m", "devmatrix", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        raise SystemExit(f"the server did not start (first line {url!r})")
    for _ in range(200):
        try:
            if httpx.get(url + "/api/v1/health/live", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    return process, url, env


def prepare(url: str, conversations: int) -> dict[str, Any]:
    """Register a user, draft and approve the calc plan, open conversations for the POSTs."""
    with httpx.Client(base_url=url, timeout=60) as client:
        body = {"username": "bench", "email": "bench@example.com", "password": PASSWORD}
        user = client.post("/api/v1/auth/register", json=body).json()
        login = client.post(
            "/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {login['access_token']}"}
        spec = (CALC / "calc_spec.md").read_text(encoding="utf-8")
        plan = client.post("/api/v1/plans", json={"spec": spec}, headers=headers)
        plan.raise_for_status()
        ids = [
            client.post("/api/v1/conversations", json={}, headers=headers).json()["id"]
            for _ in range(conversations)
        ]
    return {
        "token": login["access_token"],
        "plan_id": plan.json()["id"],
        "team_id": user["team_id"],
        "conversations": ids,
    }


def request_bytes(host: str, method: str, path: str, token: str | None, body: bytes = b"") -> bytes:
    """One HTTP/1.1 keep-alive request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if method != "GET":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class BadResponse(Exception):
    """A response the load generator could not read as HTTP/1.1 or that failed its check."""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one whole HTTP/1.1 response (Content-Length or chunked body); status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head[:-4].split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    if version != b"HTTP/1.1" or not rest[:3].isdigit():
        raise BadResponse(f"not an HTTP/1.1 status line: {status_line!r}")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")  # no trailers are sent; the empty line ends the body
    elif b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    else:
        raise BadResponse("a response without Content-Length or chunked body on keep-alive")
    if headers.get(b"connection", b"").lower() == b"close":
        raise BadResponse("the server closed the keep-alive connection")
    return int(rest[:3]), body


Check = Callable[[int, bytes], bool]


def answers_json(status: int, /, **expected: Any) -> Check:
    """A check: the response has `status` and a JSON object body holding the `expected` items."""

    def check(code: int, body: bytes) -> bool:
        if code != status:
            return False
        try:
            data = json.loads(body)
        except ValueError:
            return False
        return isinstance(data, dict) and all(data.get(k) == v for k, v in expected.items())

    return check


async def load(
    url: str, requests: list[bytes], check: Check, concurrency: int, seconds: float
) -> dict[str, Any]:
    """Replay `requests` (round robin per worker, at most once each when several) for `seconds`.

    Every response is read whole and checked; a failed check counts as an error, an unreadable
    response ends that connection (and counts as an error too).
    """
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(requests)) if len(requests) > 1 else None
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                if queue is not None:
                    if not queue:
                        return
                    request = queue.pop()
                else:
                    request = requests[0]
                started = time.perf_counter()
                writer.write(request)
                await writer.drain()
                try:
                    status, body = await read_response(reader)
                except (BadResponse, asyncio.IncompleteReadError, ValueError):
                    errors += 1
                    return
                latencies.append(time.perf_counter() - started)
                errors += not check(status, body)
        finally:
            writer.close()

    cpu = server_cpu_seconds()
    own_cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    figures = summary(latencies, elapsed, errors)
    done = max(1, len(latencies))
    spent = server_cpu_seconds()
    figures["server_cpu_us_per_request"] = (
        round((spent - cpu) / done * 1e6) if spent is not None and cpu is not None else None
    )
    figures["loadgen_cpu_us_per_request"] = round((time.process_time() - own_cpu) / done * 1e6)
    return figures


SERVER_PID: list[int] = []


def server_cpu_seconds() -> float | None:
    """CPU time the server process has used (Linux /proc), to tell its cost from the client's."""
    try:
        fields = Path(f"/proc/{SERVER_PID[0]}/stat").read_text().rsplit(")", 1)[1].split()
    except (IndexError, OSError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(latencies: list[float], elapsed: float, errors: int) -> dict[str, Any]:
    """Requests/s and latency percentiles in milliseconds."""
    cuts = (
        statistics.quantiles(latencies, n=100, method="inclusive")
        if len(latencies) > 1
        else [0.0] * 99
    )
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
    }


async def event_rate(
    url: str, env: dict[str, str], world: dict[str, Any], subscribers: int, events: int
) -> dict[str, float]:
    """Events/s delivered to `subscribers` WebSocket clients while this process publishes."""
    from devmatrix.events import PlanUpdated
    from devmatrix.events.redis_bus import RedisEventBus
    from devmatrix.storage.db import create_db_engine

    ws_url = url.replace("http://", "ws://") + (
        f"/api/v1/events?token={world['token']}&plan_id={world['plan_id']}"
    )
    sockets = [await websockets.connect(ws_url, max_queue=None) for _ in range(subscribers)]
    await asyncio.sleep(0.5)  # let every stream reach live delivery
    engine = create_db_engine(f"sqlite:///{Path(env['DEVMATRIX_DATA_DIR']) / 'devmatrix.db'}")
    bus = RedisEventBus(engine, env["DEVMATRIX_REDIS_URL"], env["DEVMATRIX_EVENTS_CHANNEL"])

    def publish() -> None:
        for n in range(events):
            bus.publish(
                PlanUpdated(plan_id=world["plan_id"], team_id=world["team_id"], payload={"n": n})
            )

    async def drain(ws: Any) -> int:
        seen = 0
        while seen < events:
            message = json.loads(await ws.recv())
            seen += message.get("type") == "plan_updated"
        return seen

    started = time.perf_counter()
    thread = threading.Thread(target=publish)
    thread.start()
    delivered = sum(await asyncio.wait_for(asyncio.gather(*(drain(ws) for ws in sockets)), 300))
    elapsed = time.perf_counter() - started
    thread.join()
    for ws in sockets:
        await ws.close()
    bus.close()
    engine.dispose()
    return {
        "subscribers": subscribers,
        "events": events,
        "delivered": delivered,
        "events_per_s": round(delivered / elapsed, 1),
        "seconds": round(elapsed, 2),
    }


async def measure(args: argparse.Namespace, url: str, env: dict[str, str]) -> dict[str, Any]:
    """Every figure of one run."""
    world = prepare(url, args.posts)
    host = url.removeprefix("http://")
    token = world["token"]
    base = await load(
        url,
        [request_bytes(host, "GET", "/api/v1/health/live", None)],
        answers_json(200, status="ok"),
        args.concurrency,
        args.seconds,
    )
    status_path = f"/api/v1/plans/{world['plan_id']}/execution"
    get = await load(
        url,
        [request_bytes(host, "GET", status_path, token)],
        answers_json(200, plan_id=world["plan_id"], status="idle"),
        args.concurrency,
        args.seconds,
    )
    body = json.dumps({"content": "What is an atom?"}).encode()
    posts = [
        request_bytes(host, "POST", f"/api/v1/conversations/{cid}/messages", token, body)
        for cid in world["conversations"]
    ]
    post = await load(url, posts, answers_json(201), args.concurrency, args.seconds * 4)
    figures: dict[str, Any] = {
        "connections": args.concurrency,
        "cores": os.cpu_count(),
        "baseline_health_live": base,
        "get_plan_status": get,
        "post_chat_message": post,
        "ratios": {
            "get_rps_vs_baseline": round(get["rps"] / base["rps"], 3),
            "get_p99_vs_baseline": round(get["p99_ms"] / max(base["p99_ms"], 1e-9), 3),
            "post_rps_vs_baseline": round(post["rps"] / base["rps"], 3),
        },
        "target_get": {
            "rps_at_least": 1000,
            "p99_ms_at_most": 50,
            "met": get["rps"] >= 1000 and get["p99_ms"] <= 50 and get["errors"] == 0,
        },
    }
    if "DEVMATRIX_REDIS_URL" in env:
        one = await event_rate(url, env, world, 1, args.events)
        many = await event_rate(url, env, world, args.subscribers, args.events)
        figures["events_baseline_1_subscriber"] = one
        figures["events_100_subscribers"] = many
        figures["ratios"]["events_delivered_vs_1_subscriber"] = round(
            many["events_per_s"] / one["events_per_s"], 3
        )
    else:
        figures["events_100_subscribers"] = "not measured: no Redis at " + REDIS_URL
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--concurrency", type=int, default=32, help="keep-alive connections (one request each)"
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--posts", type=int, default=300, help="chat messages to send")
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="devmatrix-bench-api-") as folder:
        process, url, env = start_server(Path(folder), redis_reachable())
        SERVER_PID[:] = [process.pid]
        try:
            figures = asyncio.run(measure(args, url, env))
        finally:
            process.terminate()
            process.wait(10)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{figures['connections']} keep-alive connections, {figures['cores']} cores")
    for name in ("baseline_health_live", "get_plan_status", "post_chat_message"):
        f = figures[name]
        print(
            f"{name:24} {f['rps']:>9.1f} req/s  p50 {f['p50_ms']:6.2f}  p95 {f['p95_ms']:6.2f}  "
            f"p99 {f['p99_ms']:6.2f} ms  ({f['requests']} requests, {f['errors']} errors, "
            f"server CPU {f['server_cpu_us_per_request']} us/request)"
        )
    print("events (100 subscribers):", figures["events_100_subscribers"])
    print("ratios:", figures["ratios"])
    print("GET target met:", figures["target_get"]["met"])


if __name__ == "__main__":
    main()
