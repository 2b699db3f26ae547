"""A small loopback backend for focused language-server tests: the REST routes and the event
WebSocket the language server uses, with the real server's semantics (pages, problem details,
`last_event_id` resume), state the test sets, and a log of what the language server asked.

It runs uvicorn in a thread on a fixed port, so a test can stop it and start it again at the
same address (the backend going away and coming back)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, PlainTextResponse

TOKEN = "dmx_fake-token-for-tests-0123456789"
Subscriber = tuple[asyncio.AbstractEventLoop, "asyncio.Queue[dict[str, Any]]"]


@dataclass
class FakeState:
    """What the fake backend serves; tests change it between steps."""

    plan: dict[str, Any] = field(default_factory=dict)
    atoms: dict[int, dict[str, Any]] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    reviews: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    subscriptions: list[int | None] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=lambda: {"plan_id": 1, "status": "idle"})


def _page(items: list[Any]) -> dict[str, Any]:
    return {"items": items, "next_cursor": None}


def _missing(what: str) -> JSONResponse:
    return JSONResponse(
        {"title": "Not Found", "status": 404, "detail": f"{what} does not exist."}, 404
    )


def build_app(state: FakeState, live: list[Subscriber]) -> FastAPI:
    """The fake's routes over `state`."""
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        body = await request.body()
        state.requests.append((request.method, request.url.path, body.decode() or None))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse(
                {"title": "Unauthorized", "status": 401, "detail": "Bad token."}, 401
            )
        return await call_next(request)

    @app.get("/api/v1/health/live")
    def live_health() -> dict[str, str]:
        return {"status": "live"}

    @app.post("/api/v1/plans", status_code=201)
    def create_plan(data: dict[str, Any]) -> dict[str, Any]:
        state.plan["spec"] = data["spec"]
        return state.plan

    @app.get("/api/v1/plans/{plan_id}")
    def read_plan(plan_id: int) -> Any:
        return state.plan if state.plan.get("id") == plan_id else _missing(f"Plan {plan_id}")

    @app.post("/api/v1/plans/{plan_id}/approve")
    def approve(plan_id: int) -> dict[str, Any]:
        state.plan["status"] = "approved"
        return state.plan

    @app.get("/api/v1/plans/{plan_id}/atoms")
    def atoms(plan_id: int) -> dict[str, Any]:
        return _page(list(state.atoms.values()))

    @app.get("/api/v1/plans/{plan_id}/validation")
    def validation(plan_id: int) -> dict[str, Any]:
        return _page(state.results)

    @app.get("/api/v1/atoms/{atom_id}")
    def atom(atom_id: int) -> Any:
        return state.atoms.get(atom_id) or _missing(f"Atom {atom_id}")

    @app.get("/api/v1/atoms/{atom_id}/validation")
    def atom_validation(atom_id: int) -> dict[str, Any]:
        return _page([r for r in state.results if r["atom_id"] == atom_id])

    @app.get("/api/v1/review")
    def reviews() -> dict[str, Any]:
        return _page([r for r in state.reviews.values() if r["status"] == "open"])

    @app.get("/api/v1/review/{item_id}")
    def review(item_id: int) -> Any:
        return state.reviews.get(item_id) or _missing(f"Review item {item_id}")

    @app.post("/api/v1/review/{item_id}/{action}")
    def close_review(item_id: int, action: str) -> Any:
        item = state.reviews.get(item_id)
        if item is None:
            return _missing(f"Review item {item_id}")
        item["status"] = {"approve": "approved", "reject": "rejected", "edit": "edited"}[action]
        return item

    @app.get("/api/v1/plans/{plan_id}/execution")
    def run_status(plan_id: int) -> dict[str, Any]:
        return state.run

    @app.post("/api/v1/plans/{plan_id}/execution/{action}")
    def control(plan_id: int, action: str) -> dict[str, Any]:
        status = (
            {"start": "running", "pause": "paused", "resume": "running"}[action]
            if (action != "cancel")
            else "cancelled"
        )
        state.run = {"plan_id": plan_id, "run_id": 1, "status": status, "cost_usd": 0.01,
                     "summary": {"total": 2, "done": 1}}  # fmt: skip
        return state.run

    @app.post("/api/v1/conversations", status_code=201)
    def new_conversation(data: dict[str, Any]) -> dict[str, Any]:
        return {"id": 3, "title": data.get("title", "")}

    @app.post("/api/v1/conversations/{conversation_id}/messages", status_code=201)
    def message(conversation_id: int, data: dict[str, Any]) -> dict[str, Any]:
        build = data["content"].startswith("build")
        return {
            "intent": "build" if build else "question",
            "message": {"content": data["content"]},
            "reply": {"content": "Plan 1 drafted." if build else "An atom is one symbol."},
            "plan_id": 1 if build else None,
        }

    @app.get("/api/v1/conversations/{conversation_id}/export")
    def export(conversation_id: int) -> PlainTextResponse:
        return PlainTextResponse(f"# conversation {conversation_id}\n\nAn atom is one symbol.\n")

    @app.websocket("/api/v1/events")
    async def events(websocket: WebSocket, last_event_id: int | None = None) -> None:
        await websocket.accept()
        first = await websocket.receive_json()
        if first.get("token") != TOKEN:
            await websocket.send_json({"type": "error", "detail": "Bad token."})
            await websocket.close(code=1008)
            return
        state.subscriptions.append(last_event_id)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        subscriber = (asyncio.get_running_loop(), queue)
        live.append(subscriber)
        newest = state.events[-1]["id"] if state.events else 0
        start = newest if last_event_id is None else last_event_id
        await websocket.send_json({"type": "subscribed", "plan_id": None, "last_event_id": start})
        sent = start
        try:
            for event in [e for e in state.events if e["id"] > start]:
                await websocket.send_json(event)
                sent = event["id"]
            while True:
                event = await queue.get()
                if event["id"] > sent:
                    await websocket.send_json(event)
                    sent = event["id"]
        except WebSocketDisconnect:
            pass
        finally:
            live.remove(subscriber)

    return app


class FakeBackend:
    """The fake on 127.0.0.1:<port>; `stop()` and `start()` again keep the port and the state."""

    def __init__(self) -> None:
        self.state = FakeState()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._live: list[Subscriber] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a background thread; returns once it accepts connections."""
        app = build_app(self.state, self._live)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake backend did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving (open WebSockets are closed)."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            self._thread.join(timeout=10)
        self._live.clear()
        self._server = None

    def publish(self, kind: str, payload: dict[str, Any], plan_id: int = 1) -> int:
        """Record an event and push it to live subscribers; returns its id."""
        event = {
            "id": len(self.state.events) + 1,
            "type": kind,
            "plan_id": plan_id,
            "team_id": 1,
            "payload": payload,
            "created_at": "2026-01-01T00:00:00Z",
        }
        self.state.events.append(event)
        for loop, queue in list(self._live):
            loop.call_soon_threadsafe(queue.put_nowait, event)
        return int(event["id"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
