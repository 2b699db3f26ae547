"""`/api/v1/events`: the engine's event stream over a WebSocket, per team or per plan.

Authenticate with `?token=` or, when absent, a first message `{"token": "..."}` (an access token
or a personal access token). `?plan_id=` narrows to one plan of the caller's team; a client that
reconnects passes `?last_event_id=` and receives everything it missed, then live events. Each
event is sent as `{"id", "type", "plan_id", "team_id", "payload", "created_at"}`; when idle the
server sends `{"type": "ping"}` so dead connections are noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from fastapi.security import HTTPAuthorizationCredentials
from sqlmodel import Session

from devmatrix.config import Settings
from devmatrix.errors import DevMatrixError
from devmatrix.events import EventBus, latest_event_id
from devmatrix.storage.models import MasterPlan
from devmatrix_server.deps import Caller, get_caller

router = APIRouter(tags=["events"])
AUTH_TIMEOUT_SECONDS = 10.0


@router.websocket("/api/v1/events")
async def event_stream(
    websocket: WebSocket,
    token: str | None = None,
    plan_id: int | None = None,
    last_event_id: int | None = None,
) -> None:
    """Stream the caller's team events (or one plan's), resuming after `last_event_id`."""
    await websocket.accept()
    settings: Settings = websocket.app.state.settings
    try:
        raw = token or await _first_message_token(websocket)
        caller = await asyncio.to_thread(_authenticate, websocket, settings, raw)
        if plan_id is not None:
            await asyncio.to_thread(_check_plan, websocket, caller, plan_id)
    except (DevMatrixError, ValueError, TimeoutError) as exc:
        await _refuse(websocket, str(exc))
        return
    bus: EventBus = websocket.app.state.event_bus

    async def still_allowed() -> None:
        # Logout, revocation, expiry or deactivation must end a long-lived stream too.
        await asyncio.to_thread(_authenticate, websocket, settings, raw)

    await _stream(
        websocket,
        bus,
        caller,
        plan_id,
        last_event_id,
        settings.events_heartbeat_seconds,
        still_allowed,
    )


async def _first_message_token(websocket: WebSocket) -> str:
    async with asyncio.timeout(AUTH_TIMEOUT_SECONDS):
        message = await websocket.receive_text()
    data = json.loads(message)
    if not isinstance(data, dict) or not isinstance(data.get("token"), str):
        raise ValueError('Send {"token": "<access token>"} as the first message, or ?token=.')
    return str(data["token"])


def _authenticate(websocket: WebSocket, settings: Settings, raw: str) -> Caller:
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=raw)
    with Session(websocket.app.state.engine, expire_on_commit=False) as session:
        caller = get_caller(websocket, session, settings, credentials)  # type: ignore[arg-type]
    if "read" not in caller.scopes:
        raise ValueError("This token lacks the `read` scope needed to follow events.")
    return caller


def _check_plan(websocket: WebSocket, caller: Caller, plan_id: int) -> None:
    with Session(websocket.app.state.engine) as session:
        plan = session.get(MasterPlan, plan_id)
    if plan is None or plan.team_id != caller.team_id:
        raise ValueError(f"Plan {plan_id} does not exist.")


async def _refuse(websocket: WebSocket, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.send_json({"type": "error", "detail": reason})
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason[:120])


async def _stream(
    websocket: WebSocket,
    bus: EventBus,
    caller: Caller,
    plan_id: int | None,
    last_event_id: int | None,
    heartbeat: float,
    still_allowed: Callable[[], Awaitable[None]],
) -> None:
    lock = asyncio.Lock()

    async def send(data: dict[str, Any]) -> None:
        async with lock:
            await websocket.send_text(json.dumps(data, default=str))

    async def forward() -> None:
        stream = bus.subscribe(plan_id, last_event_id, team_id=caller.team_id)
        try:
            async for event in stream:
                await send(event.model_dump(mode="json"))
        finally:
            await stream.aclose()

    async def ping() -> None:
        while True:
            await asyncio.sleep(heartbeat)
            try:
                await still_allowed()
            except (DevMatrixError, ValueError) as exc:
                async with lock:
                    await _refuse(
                        websocket, f"{exc} Reconnect with a valid token and last_event_id."
                    )
                return
            await send({"type": "ping"})

    async def read_until_closed() -> None:
        # Clients may answer pings; anything they send only proves they are alive.
        while True:
            await websocket.receive_text()

    if last_event_id is None:  # fix "now" before confirming, so nothing after it is missed
        last_event_id = await asyncio.to_thread(latest_event_id, bus.engine)
    await send({"type": "subscribed", "plan_id": plan_id, "last_event_id": last_event_id})
    async with anyio.create_task_group() as group:

        async def until_closed(part: Callable[[], Awaitable[None]]) -> None:
            # The first part to end (normally: the client went away) ends the others.
            try:
                await part()
            except (WebSocketDisconnect, RuntimeError):
                pass  # the socket is closed; Starlette raises RuntimeError on send after close
            finally:
                group.cancel_scope.cancel()

        for part in (forward, ping, read_until_closed):
            group.start_soon(until_closed, part)
