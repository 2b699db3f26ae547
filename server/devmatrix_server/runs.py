"""Plan runs inside the server process: one background event loop, one registry of live runs.

Runs live on their own loop in a daemon thread, so a run outlives the request that started it
whatever loop serves requests; pause/resume/cancel reach it through `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine

from devmatrix.config import Settings
from devmatrix.errors import DevMatrixError
from devmatrix.events import EventBus
from devmatrix.execution.pipeline import execute_plan, latest_run, run_state
from devmatrix.execution.progress import RunSummary
from devmatrix.execution.runner import RunOptions
from devmatrix.llm.client import LLMClient, build_llm_client
from devmatrix.planning.versions import ensure_runnable, get_plan
from devmatrix.scheduler import ScheduleControl
from devmatrix.storage.db import session_scope
from devmatrix_server.errors import Conflict

Result = TypeVar("Result")


@dataclass
class ActiveRun:
    """A run this process started: its future on the run loop and its control."""

    future: Future[RunSummary]
    control: ScheduleControl
    follow_up: bool = False


@dataclass
class RunRegistry:
    """plan id -> the run this process is doing for it, plus the loop runs execute on."""

    settings: Settings
    engine: Engine
    bus: EventBus | None = None
    runs: dict[int, ActiveRun] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _client: LLMClient | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def loop(self) -> asyncio.AbstractEventLoop:
        """The run loop, started on first use."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="devmatrix-runs", daemon=True
                ).start()
                self._loop = loop
            return self._loop

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
        """Run `coroutine` on the run loop."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop())

    def call(self, coroutine: Coroutine[Any, Any, Result], timeout: float = 600.0) -> Result:
        """Run `coroutine` on the run loop and wait for its result (from a worker thread)."""
        future: Future[Result] = self.submit(coroutine)
        return future.result(timeout)

    def client(self) -> LLMClient:
        """The one model client of the app: every model call runs on the run loop, which owns
        the client's locks (chat and planning go through `call`)."""
        if self._client is None:
            self._client = build_llm_client(self.settings, self.engine)
        return self._client

    def active(self, plan_id: int) -> ActiveRun | None:
        """The live run of `plan_id` in this process, if any."""
        found = self.runs.get(plan_id)
        return found if found is not None and not found.future.done() else None

    def start(self, plan_id: int) -> ActiveRun:
        """Start (or resume) the run of an approved plan in the background."""
        if self.active(plan_id) is not None:
            raise Conflict(f"Plan {plan_id} is already running.", "Pause or cancel it first.")
        previous = latest_run(self.engine, plan_id)
        if previous is not None and run_state(previous) == "running":
            raise Conflict(
                f"Plan {plan_id} is being run by another process.", "Wait for it or cancel it."
            )
        out_dir = self._out_dir(plan_id)
        control = ScheduleControl()
        options = RunOptions(
            out_dir=out_dir, review_threshold=self.settings.review_confidence_threshold
        )
        future = self.submit(
            execute_plan(
                self.engine, self.client(), plan_id, options, control=control, bus=self.bus
            )
        )
        active = ActiveRun(future, control)
        self.runs[plan_id] = active
        return active

    def start_or_follow(self, plan_id: int) -> None:
        """Start a run now, or when one is live, run again once it ends: atoms reopened meanwhile
        (a rejected or edited review) were already passed by the live run's scheduler."""
        with self._lock:
            active = self.active(plan_id)
            follow = active is not None and not active.follow_up
            if active is not None:
                active.follow_up = True
        if active is None:
            with contextlib.suppress(Conflict):  # another process runs it and will pick it up
                self.start(plan_id)
        elif follow:
            # Outside the lock: a run that ended meanwhile calls back at once, and start()
            # takes the lock again.
            active.future.add_done_callback(lambda _: self._follow(plan_id, active))

    def _follow(self, plan_id: int, finished: ActiveRun) -> None:
        if finished.control.cancelled:
            return  # a cancelled run stays cancelled; resume it to pick the atoms up
        with contextlib.suppress(Conflict, DevMatrixError):
            self.start(plan_id)

    def _out_dir(self, plan_id: int) -> Path:
        with session_scope(self.engine) as session:
            plan = get_plan(session, plan_id)
            ensure_runnable(plan)
            if plan.output_dir is None:
                folder = self.settings.data_dir / "workspaces" / str(plan_id)
                plan.output_dir = str(folder.resolve())
                session.add(plan)
            out = Path(plan.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        return out

    def control(self, plan_id: int, action: str) -> None:
        """Pause, resume or cancel the live run of `plan_id`."""
        active = self.active(plan_id)
        if active is None:
            raise Conflict(
                f"Plan {plan_id} has no run in progress on this server.",
                "Start one with POST /api/v1/plans/{id}/execution/start.",
            )
        method = {
            "pause": active.control.pause,
            "resume": active.control.resume,
            "cancel": active.control.cancel,
        }[action]
        # Applied on the run loop (the control's listeners wake tasks there), and waited for, so
        # the status read right after already shows the change.
        self.call(_apply(method), timeout=10)

    def wait(self, plan_id: int, timeout: float) -> RunSummary | None:
        """Wait for the live run of `plan_id` to end (for tests and shutdown)."""
        found = self.runs.get(plan_id)
        return found.future.result(timeout) if found is not None else None

    def close(self) -> None:
        """Cancel every live run and stop the run loop."""
        for active in self.runs.values():
            if not active.future.done() and self._loop is not None:
                self._loop.call_soon_threadsafe(active.control.cancel)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)


async def _apply(action: Callable[[], None]) -> None:
    action()


def run_registry(app_state: Any) -> RunRegistry:
    """The app's run registry, created on first use with the app's event bus."""
    registry: RunRegistry | None = getattr(app_state, "run_registry", None)
    if registry is None:
        registry = RunRegistry(
            app_state.settings, app_state.engine, getattr(app_state, "event_bus", None)
        )
        app_state.run_registry = registry
    return registry
