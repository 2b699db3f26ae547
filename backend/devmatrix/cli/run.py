"""`devmatrix run`, `devmatrix resume`, `devmatrix approve`: execute a plan with live progress."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from devmatrix.cli.app import app
from devmatrix.config import Settings, get_settings
from devmatrix.errors import DevMatrixError
from devmatrix.events import build_event_bus
from devmatrix.execution.pipeline import execute_plan
from devmatrix.execution.progress import RunProgress, RunSummary
from devmatrix.execution.runner import RunOptions
from devmatrix.llm.client import LLMClient, build_llm_client
from devmatrix.planning.discovery import read_spec
from devmatrix.planning.pipeline import plan_from_spec
from devmatrix.planning.versions import approve_plan
from devmatrix.scheduler import ScheduleControl
from devmatrix.storage.db import open_database, session_scope
from devmatrix.storage.models import MasterPlan

console = Console()


@app.command("run")
def run_command(
    spec: Annotated[Path | None, typer.Argument(help="Spec file to plan and run.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder the code is written to.")] = Path(
        "out"
    ),
    plan_id: Annotated[
        int | None, typer.Option("--plan", help="Run a saved, approved plan.")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Atoms generated at once.")] = 8,
    answers: Annotated[
        Path | None,
        typer.Option(
            "--answers",
            help="Prepared answers (scripted provider) to use when no model is configured.",
        ),
    ] = None,
) -> None:
    """Plan SPEC (approving it) or take a saved plan, and generate, validate and review its code."""
    settings = with_fallback_answers(get_settings(), answers)
    engine = open_database(settings.effective_database_url)
    if plan_id is None:
        if spec is None:
            raise DevMatrixError("Give a spec file or --plan ID.", "e.g. devmatrix run spec.md")
        client = build_llm_client(settings, engine)
        console.print(f"planning [bold]{spec}[/] ...")
        result = asyncio.run(
            plan_from_spec(client, engine, read_spec(spec), output_dir=str(out.resolve()))
        )
        plan_id = result.plan_id
        with session_scope(engine) as session:
            approve_plan(session, plan_id)
        console.print(
            f"plan {plan_id}: {result.atom_count} atoms, "
            f"{result.graph.edge_count} dependencies, {len(result.graph.waves)} waves"
        )
    _execute(settings, plan_id, out, concurrency)


def with_fallback_answers(settings: Settings, answers: Path | None) -> Settings:
    """Use `answers` through the scripted provider unless a real model is configured."""
    real_model = settings.anthropic_api_key or settings.openai_base_url or settings.openai_api_key
    if answers is None or settings.llm_provider != "auto" or real_model:
        return settings
    console.print(f"no model configured: playing the prepared answers in {answers}")
    return settings.model_copy(update={"llm_provider": "scripted", "scripted_answers": answers})


@app.command("resume")
def resume_command(
    plan_id: Annotated[int | None, typer.Argument(help="Plan to resume (default: latest).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: the plan's).")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Atoms generated at once.")] = 8,
) -> None:
    """Resume a stopped, stalled or crashed run where it stopped; nothing done is done again."""
    settings = get_settings()
    engine = open_database(settings.effective_database_url)
    with session_scope(engine) as session:
        plan = session.get(MasterPlan, plan_id) if plan_id else _latest_plan(session)
        if plan is None or plan.id is None:
            raise DevMatrixError("There is no plan to resume.", "Start one with `devmatrix run`.")
        plan_id, folder = plan.id, plan.output_dir
    target = out or (Path(folder) if folder else None)
    if target is None:
        raise DevMatrixError(f"Plan {plan_id} has no output folder.", "Pass --out DIR.")
    _execute(settings, plan_id, target, concurrency)


@app.command("approve")
def approve_command(plan_id: Annotated[int, typer.Argument(help="Plan to approve.")]) -> None:
    """Approve a plan's current version so it can run."""
    engine = open_database(get_settings().effective_database_url)
    with session_scope(engine) as session:
        plan = approve_plan(session, plan_id)
        console.print(f"plan {plan_id} approved at version {plan.version}")


def _latest_plan(session: Session) -> MasterPlan | None:
    return session.exec(select(MasterPlan).order_by(col(MasterPlan.id).desc()).limit(1)).first()


def _execute(settings: Settings, plan_id: int, out: Path, concurrency: int) -> None:
    engine = open_database(settings.effective_database_url)
    with session_scope(engine) as session:
        plan = session.get(MasterPlan, plan_id)
        if plan is not None:
            plan.output_dir = str(out.resolve())
            session.add(plan)
    client = build_llm_client(settings, engine)
    options = RunOptions(
        out_dir=out, concurrency=concurrency, review_threshold=settings.review_confidence_threshold
    )
    summary = asyncio.run(_run_with_progress(settings, engine, client, plan_id, options))
    console.print(summary_table(summary))
    if summary.status != "finished":
        raise typer.Exit(1)


async def _run_with_progress(
    settings: Settings, engine: Engine, client: LLMClient, plan_id: int, options: RunOptions
) -> RunSummary:
    control = ScheduleControl()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, control.cancel)
    bus = build_event_bus(settings, engine)
    columns = (
        TextColumn("[bold]{task.fields[phase]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("run", total=None, phase="starting", detail="")

        def show(p: RunProgress) -> None:
            bar.update(
                task,
                total=p.total,
                completed=p.done,
                phase=p.phase,
                detail=f"running {p.running}  retries {p.retries}  review {p.in_review}  "
                f"failed {p.failed}  ${p.cost_usd:.4f}",
            )

        try:
            return await execute_plan(
                engine, client, plan_id, options, control=control, bus=bus, on_progress=show
            )
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            bus.close()


def summary_table(summary: RunSummary) -> Table:
    """The end-of-run table: counts, cost and the acceptance verdicts."""
    p = summary.progress
    table = Table(title=f"run {summary.run_id} of plan {summary.plan_id}: {summary.status}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, value in (
        ("atoms", p.total),
        ("validated or approved", p.done - p.in_review),
        ("in review", p.in_review),
        ("failed", p.failed),
        ("retries", p.retries),
        ("blocked", len(summary.blocked)),
        ("cost (USD)", f"{p.cost_usd:.4f}"),
        ("output", summary.out_dir),
    ):
        table.add_row(name, str(value))
    for requirement, verdict in sorted(summary.verdicts.items()):
        table.add_row(f"acceptance {requirement}", verdict)
    return table
