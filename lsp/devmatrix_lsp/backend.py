"""The language server's link to a DevMatrix backend over HTTP: a configured team URL, or a
private local backend (`python -m devmatrix serve --port 0`) started on demand and stopped on exit.

Every call says plainly what went wrong: `BackendUnavailable` when nothing answers (or nothing can
be started) or a stream is cut, `BackendRefused` with the backend's own problem detail when it
answers with an error — before a stream starts, or as the stream's `error` event.

A streamed answer (the chat route with `Accept: text/event-stream`) is read with
`event_stream.EventStreamParser`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import json
import os
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any, Literal

import httpx

from devmatrix_lsp.event_stream import EventStreamParser, ServerSentEvent
from devmatrix_lsp.settings import Settings, new_local_token

INSTALL_HINT = (
    "The DevMatrix engine is not installed in this Python environment, so no private backend can "
    "be started. Install it with `pip install 'devmatrix[all]'`, or set the backend URL "
    "(initializationOptions.backendUrl) to a team backend."
)
START_TIMEOUT_SECONDS = 60.0
LONG_CALL_SECONDS = 900.0  # planning and chat wait for the model
PAGE_SIZE = 200
EVENT_STREAM = "text/event-stream"
State = Literal["connected", "starting", "unreachable"]


class BackendUnavailable(Exception):
    """No backend could be reached or started; the message says what to do."""


class BackendRefused(Exception):
    """The backend answered with an error; the message is its problem detail."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class PrivateBackend:
    """A `devmatrix serve` child process on a random loopback port."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        """Whether the child process is still running."""
        return self.process is not None and self.process.returncode is None

    async def start(self, settings: Settings, root: Path | None) -> tuple[str, str]:
        """Start the backend; returns its URL and the fresh local token it accepts."""
        if importlib.util.find_spec("devmatrix") is None:
            raise BackendUnavailable(INSTALL_HINT)
        token = new_local_token()
        data = settings.data_folder(root)
        data.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **settings.private_env(root, token)}
        with (data / "backend.log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "devmatrix",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                # A pipe we never write: when this process dies, even by SIGKILL, it closes and
                # the private backend stops with it.
                "--stop-with-stdin",
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                stdin=asyncio.subprocess.PIPE,
                env=env,
            )
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), START_TIMEOUT_SECONDS)
        except TimeoutError:
            await self.stop()
            raise BackendUnavailable(
                f"The private backend did not start within {START_TIMEOUT_SECONDS:.0f} s; "
                f"see {data / 'backend.log'}."
            ) from None
        url = line.decode(errors="replace").strip()
        if not url.startswith("http"):
            await self.stop()
            raise BackendUnavailable(
                f"The private backend failed to start; see {data / 'backend.log'}."
            )
        self._drain = asyncio.create_task(_drain(self.process.stdout))
        atexit.register(self._kill_now)  # `exit` without `shutdown` must not leave it running
        return url, token

    def _kill_now(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def stop(self) -> None:
        """Stop the child process (terminate, then kill after 10 s)."""
        process, self.process = self.process, None
        if self._drain is not None:
            self._drain.cancel()
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _drain(stream: asyncio.StreamReader) -> None:
    # A full stdout pipe would block the child; nothing after the URL line is needed.
    while await stream.read(65536):
        pass


class Backend:
    """The backend in use for this editor session, its connection state and HTTP client."""

    def __init__(self, settings: Settings, root: Path | None) -> None:
        self.settings = settings
        self.root = root
        self.private = PrivateBackend()
        self.base_url: str | None = settings.backend_url
        self.token: str | None = settings.token
        self.state: State = "starting"
        self.message: str | None = None
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def ensure(self) -> str:
        """The backend's base URL, starting (or restarting) a private one when none is configured."""
        async with self._lock:
            if self._closed:
                # A connection replaced by new settings never starts a backend again: a second
                # private backend on the same data folder would revoke the new one's token.
                raise BackendUnavailable("The backend connection was replaced by new settings.")
            if self.settings.backend_url is None and not self.private.alive:
                self.state = "starting"
                await self._drop_client()
                try:
                    self.base_url, self.token = await self.private.start(self.settings, self.root)
                except BackendUnavailable as exc:
                    self.mark_unreachable(str(exc))
                    raise
            assert self.base_url is not None
            if self._client is None:
                headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
                self._client = httpx.AsyncClient(
                    base_url=self.base_url, headers=headers, timeout=30.0
                )
            return self.base_url

    def mark_unreachable(self, message: str) -> None:
        """Record that the backend does not answer, with a message for a person."""
        self.state = "unreachable"
        self.message = message

    def mark_connected(self) -> None:
        """Record that the backend answers."""
        self.state = "connected"
        self.message = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        long: bool = False,
    ) -> Any:
        """One JSON call; raises BackendUnavailable or BackendRefused with a readable message."""
        base = await self.ensure()
        assert self._client is not None
        timeout = LONG_CALL_SECONDS if long else 30.0
        try:
            response = await self._client.request(
                method, path, json=json, params=params, timeout=timeout
            )
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            self.mark_unreachable(f"The backend at {base} is unreachable ({reason}).")
            raise BackendUnavailable(self.message or reason) from None
        self.mark_connected()
        if response.status_code >= 400:
            raise BackendRefused(response.status_code, _problem(response))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def events(self, path: str, *, json: Any = None) -> AsyncGenerator[tuple[str, Any], None]:
        """POST asking for Server-Sent Events; yields each event's name and JSON data, up to and
        including `done`, and ignores keep-alive comments.

        A refusal before the stream and an `error` event raise BackendRefused with the problem's
        detail; a stream that breaks or ends before `done` raises BackendUnavailable. A backend
        that answers whole (JSON, an older version) yields that answer as one `done` event.
        """
        base = await self.ensure()
        assert self._client is not None
        started = False
        try:
            async with self._client.stream(
                "POST", path, json=json, headers={"Accept": EVENT_STREAM}, timeout=LONG_CALL_SECONDS
            ) as response:
                self.mark_connected()
                started = True
                if response.status_code >= 400 or not _is_event_stream(response):
                    yield "done", await _whole_answer(response)
                    return
                parser = EventStreamParser()
                async for chunk in response.aiter_bytes():
                    for event in parser.feed(chunk):
                        yield event.event, _event_data(event)
                        if event.event == "done":
                            return
                for event in parser.close():
                    yield event.event, _event_data(event)
                    if event.event == "done":
                        return
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            self.mark_unreachable(f"The backend at {base} is unreachable ({reason}).")
            if not started:
                raise BackendUnavailable(self.message or reason) from None
            raise BackendUnavailable(
                f"The connection to the backend at {base} broke in the middle of the answer "
                f"({reason})."
            ) from None
        raise BackendUnavailable(
            f"The backend at {base} ended the stream before the answer was complete "
            "(no `done` event)."
        )

    async def request_text(self, path: str) -> str:
        """GET a text document (e.g. Markdown) from the backend."""
        base = await self.ensure()
        assert self._client is not None
        try:
            response = await self._client.get(path)
        except httpx.HTTPError as exc:
            self.mark_unreachable(f"The backend at {base} is unreachable ({exc}).")
            raise BackendUnavailable(self.message or str(exc)) from None
        if response.status_code >= 400:
            raise BackendRefused(response.status_code, _problem(response))
        return response.text

    async def all_pages(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Every item of a paginated list route."""
        items: list[Any] = []
        query: dict[str, Any] = {**(params or {}), "limit": PAGE_SIZE}
        while True:
            page = await self.request("GET", path, params=query)
            items.extend(page.get("items", []))
            cursor = page.get("next_cursor")
            if not cursor:
                return items
            query["cursor"] = cursor

    def websocket_url(self) -> tuple[str, str | None]:
        """The event stream's URL (without query) and the token to send with it."""
        assert self.base_url is not None
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        rest = self.base_url.split("://", 1)[1]
        return f"{scheme}://{rest}/api/v1/events", self.token

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(httpx.HTTPError, RuntimeError):
                await client.aclose()

    async def close(self) -> None:
        """Close the HTTP client and stop the private backend, if one was started; final."""
        self._closed = True
        await self._drop_client()
        await self.private.stop()


def _is_event_stream(response: httpx.Response) -> bool:
    kind = str(response.headers.get("content-type", ""))
    return kind.split(";", 1)[0].strip().lower() == EVENT_STREAM


async def _whole_answer(response: httpx.Response) -> Any:
    """The JSON of an answer that is not a stream; a refusal raises BackendRefused."""
    await response.aread()
    if response.status_code >= 400:
        raise BackendRefused(response.status_code, _problem(response))
    try:
        return response.json()
    except ValueError:
        raise BackendRefused(
            502, f"The backend answered neither an event stream nor JSON: {response.text[:200]}"
        ) from None


def _event_data(event: ServerSentEvent) -> Any:
    """An event's JSON data; an `error` event raises BackendRefused with its problem detail."""
    try:
        data = json.loads(event.data)
    except ValueError:
        raise BackendRefused(
            502, f"The backend sent a `{event.event}` event that is not JSON: {event.data[:200]}"
        ) from None
    if event.event == "error":
        status = data.get("status") if isinstance(data, dict) else None
        code = status if isinstance(status, int) else 500
        raise BackendRefused(code, _problem_detail(data, code))
    return data


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"The backend answered {response.status_code}: {response.text[:200]}"
    return _problem_detail(body, response.status_code)


def _problem_detail(body: Any, status: int) -> str:
    """The person-readable part of an RFC 9457 problem (with the first validation error)."""
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title")
        errors = body.get("errors")
        if errors and isinstance(errors, list):
            first = errors[0]
            where = ".".join(str(p) for p in first.get("loc", []))
            detail = f"{detail} ({where}: {first.get('msg')})"
        if detail:
            return str(detail)
    return f"The backend answered {status}."
