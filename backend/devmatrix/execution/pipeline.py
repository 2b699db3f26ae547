"""`execute_plan`: one run of an approved plan from atoms to acceptance verdicts.

A run and a resume are the same call: what is already done in the database is not done again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import col, select

from devmatrix.confidence import ConfidenceInputs, confidence, needs_review
from devmatrix.errors import DevMatrixError
from devmatrix.events import EventBus
from devmatrix.events.types import ReviewNeeded, RunFinished, RunStarted
from devmatrix.execution.checks import (
    check_acceptance,
    check_milestones,
    check_tasks,
    code_atoms,
)
from devmatrix.execution.progress import RunSummary
from devmatrix.execution.review import open_review
from devmatrix.execution.runner import PlanRun, ProgressCallback, RunOptions, run_atoms
from devmatrix.execution.state import AtomState, load_plan_state, update_atom
from devmatrix.llm.client import LLMClient
from devmatrix.planning.versions import ensure_runnable, get_plan
from devmatrix.scheduler import ScheduleControl
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import ExecutionRun, utcnow
from devmatrix.validation.in_sandbox import atom_coverage

STALE_AFTER_BEATS = 5


class RunAlreadyActive(DevMatrixError):
    """Another live process is running this plan."""


def run_state(run: ExecutionRun, heartbeat_seconds: float = 2.0) -> str:
    """A run's status, with `stalled` for a running run whose process stopped beating (or, on
    this machine, whose process is gone)."""
    if run.status != "running":
        return run.status
    if run.host == socket.gethostname() and run.pid is not None and not _alive(run.pid):
        return "stalled"
    limit = timedelta(seconds=heartbeat_seconds * STALE_AFTER_BEATS)
    return "stalled" if utcnow() - run.heartbeat_at > limit else "running"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    # A killed child not yet reaped by its parent still answers signal 0.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False


def latest_run(engine: Engine, plan_id: int) -> ExecutionRun | None:
    """The plan's most recent run, if any."""
    with session_scope(engine) as session:
        return session.exec(
            select(ExecutionRun)
            .where(ExecutionRun.plan_id == plan_id)
            .order_by(col(ExecutionRun.id).desc())
            .limit(1)
        ).first()


def start_run_row(engine: Engine, plan_id: int, concurrency: int) -> int:
    """Record that this process now runs the plan."""
    with session_scope(engine) as session:
        row = ExecutionRun(
            plan_id=plan_id,
            status="running",
            concurrency=concurrency,
            pid=os.getpid(),
            host=socket.gethostname(),
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def finish_run_row(engine: Engine, run_id: int, status: str, summary: dict[str, object]) -> None:
    """Record how the run ended."""
    with session_scope(engine) as session:
        row = session.get(ExecutionRun, run_id)
        assert row is not None
        row.status, row.finished_at, row.summary = status, utcnow(), summary
        session.add(row)


async def heartbeat(engine: Engine, run_id: int, every: float) -> None:
    """Keep the run's heartbeat fresh so others can tell it is alive."""
    while True:
        await asyncio.sleep(every)
        await asyncio.to_thread(_beat, engine, run_id)


def _beat(engine: Engine, run_id: int) -> None:
    with session_scope(engine) as session:
        row = session.get(ExecutionRun, run_id)
        if row is not None:
            row.heartbeat_at = utcnow()
            session.add(row)


def _claim(engine: Engine, plan_id: int, options: RunOptions) -> int:
    with session_scope(engine) as session:
        ensure_runnable(get_plan(session, plan_id))
    previous = latest_run(engine, plan_id)
    if previous is not None and run_state(previous, options.heartbeat_seconds) == "running":
        raise RunAlreadyActive(
            f"Plan {plan_id} is being run by process {previous.pid} on {previous.host}.",
            "Wait for it, or cancel it; a run whose process died shows as stalled and can resume.",
        )
    if previous is not None and previous.status == "running":
        finish_run_row(engine, previous.id or 0, "stalled", previous.summary)
    return start_run_row(engine, plan_id, options.concurrency)


async def execute_plan(
    engine: Engine,
    client: LLMClient,
    plan_id: int,
    options: RunOptions,
    *,
    control: ScheduleControl | None = None,
    bus: EventBus | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunSummary:
    """Run (or resume) an approved plan; returns how it ended."""
    run_id = _claim(engine, plan_id, options)
    run = PlanRun(
        engine,
        client,
        load_plan_state(engine, plan_id),
        options,
        run_id,
        control=control or ScheduleControl(),
        bus=bus,
        on_progress=on_progress,
    )
    run.publish(RunStarted(payload={"run_id": run_id}))
    beat = asyncio.create_task(heartbeat(engine, run_id, options.heartbeat_seconds))
    status, verdicts, blocked = "failed", {}, {}
    try:
        for file in run.state.files():
            run.write_file(file)  # a resumed run starts from a whole folder
        run.report("generating atoms")
        blocked = await run_atoms(run)
        if run.control.cancelled:
            status = "cancelled"
        else:
            await check_tasks(run)
            await check_milestones(run)
            verdicts = await check_acceptance(run)
            score_and_review(run)
            status = "finished"
    except asyncio.CancelledError:
        status = "cancelled"
        raise
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        run.report(status)
        summary = {"verdicts": verdicts, "blocked": blocked, **vars(run.progress)}
        finish_run_row(engine, run_id, status, summary)
        run.publish(RunFinished(payload={"run_id": run_id, "status": status}))
    return RunSummary(
        run_id, plan_id, status, run.progress, verdicts, blocked, str(options.out_dir)
    )


def score_and_review(run: PlanRun) -> None:
    """Give every validated atom its confidence; those below the threshold go to review."""
    placed = {a.id: a for a in code_atoms(run)[0]}
    scored: list[tuple[AtomState, float, float | None]] = []
    for atom in run.state.atoms.values():
        if atom.status != "validated":
            continue
        coverage = atom_coverage(run.coverage, placed[atom.key]) if atom.key in placed else None
        score = confidence(
            ConfidenceInputs(run.levels.get(atom.key, {1: True}), atom.attempts, coverage)
        )
        scored.append((atom, score, coverage))
    # One transaction for every score, not one per atom (a resumed run scores them all again).
    with run.engine.begin() as connection:
        for atom, score, _ in scored:
            update_atom(connection, atom, confidence=score)
    for atom, score, coverage in scored:
        if needs_review(score, run.options.review_threshold):
            notes = [f"[{f.code}] {f.message}" for f in run.findings if atom.key in f.atom_keys]
            item = open_review(
                run.engine,
                atom.id,
                reason=f"Confidence {score:.2f} is below {run.options.review_threshold:.2f} "
                f"({atom.attempts} attempt(s), coverage {_percent(coverage)}).",
                confidence=score,
                validator_output="\n".join(notes) or "no failures recorded",
            )
            atom.status = "review"
            run.publish(
                ReviewNeeded(payload={"atom": atom.key, "review_id": item, "confidence": score})
            )
    run.report()


def _percent(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.0%}"
