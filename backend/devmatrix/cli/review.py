"""`devmatrix review`: the queue of atoms waiting for a person, and approve / reject / edit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from sqlmodel import Session, col, select

from devmatrix.cli.app import app
from devmatrix.config import get_settings
from devmatrix.errors import DevMatrixError, NotFoundError
from devmatrix.execution.review import (
    record_human_code,
    record_rejection_feedback,
    resolve_review,
)
from devmatrix.storage.db import open_database, session_scope
from devmatrix.storage.models import Atom, MasterPlan, ReviewItem

review_app = typer.Typer(help="Atoms waiting for a person: list, show, approve, reject, edit.")
app.add_typer(review_app, name="review")
console = Console()


@review_app.command("list")
def list_items(
    plan_id: Annotated[int | None, typer.Option("--plan", help="Only this plan.")] = None,
    all_items: Annotated[bool, typer.Option("--all", help="Include resolved items.")] = False,
) -> None:
    """Show the review queue (open items by default)."""
    engine = open_database(get_settings().effective_database_url)
    table = Table(title="review queue")
    for column in ("id", "plan", "atom", "confidence", "status", "reason"):
        table.add_column(column)
    with session_scope(engine) as session:
        query = select(ReviewItem, Atom).join(Atom).order_by(col(ReviewItem.id))
        if plan_id is not None:
            query = query.where(ReviewItem.plan_id == plan_id)
        if not all_items:
            query = query.where(ReviewItem.status == "open")
        for item, atom in session.exec(query):
            table.add_row(
                str(item.id),
                str(item.plan_id),
                atom.key,
                f"{item.confidence:.2f}",
                item.status,
                item.reason,
            )
    console.print(table)


@review_app.command("show")
def show(item_id: Annotated[int, typer.Argument(help="Review item id.")]) -> None:
    """Show one item: reason, validator output and the diff against the previous version."""
    engine = open_database(get_settings().effective_database_url)
    with session_scope(engine) as session:
        item, atom = _item(session, item_id)
        console.print(
            f"[bold]#{item.id}[/] {atom.key} ({item.status}, confidence "
            f"{item.confidence:.2f})\n[bold]why:[/] {item.reason}"
        )
        console.print("[bold]validator output:[/]\n" + (item.validator_output or "(none)"))
        console.print(Syntax(item.diff or item.proposed_code, "diff" if item.diff else "python"))


@review_app.command("approve")
def approve(item_id: Annotated[int, typer.Argument(help="Review item id.")]) -> None:
    """Accept the proposed code as it is."""
    engine = open_database(get_settings().effective_database_url)
    resolve_review(engine, item_id, "approved")
    console.print(f"review item {item_id} approved")


@review_app.command("reject")
def reject(
    item_id: Annotated[int, typer.Argument(help="Review item id.")],
    reason: Annotated[
        str, typer.Option("--reason", "-r", help="What is wrong (the model gets it).")
    ],
    run: Annotated[bool, typer.Option(help="Regenerate now (resume the plan).")] = True,
) -> None:
    """Reject with a reason; the atom is generated again with the reason as feedback."""
    engine = open_database(get_settings().effective_database_url)
    item = resolve_review(engine, item_id, "rejected", note=reason)
    record_rejection_feedback(engine, item.atom_id, reason)
    console.print(f"review item {item_id} rejected")
    if run:
        _resume(item.plan_id)


@review_app.command("edit")
def edit(
    item_id: Annotated[int, typer.Argument(help="Review item id.")],
    code_file: Annotated[
        Path | None, typer.Option("--file", help="File holding your code.")
    ] = None,
    run: Annotated[bool, typer.Option(help="Validate now (resume the plan).")] = True,
) -> None:
    """Replace the atom's code with yours (from --file, or in $EDITOR); it is validated again."""
    engine = open_database(get_settings().effective_database_url)
    with session_scope(engine) as session:
        item, _ = _item(session, item_id)
        proposed = item.proposed_code
    code = (
        code_file.read_text(encoding="utf-8")
        if code_file
        else click.edit(proposed, extension=".py")
    )
    if not code or not code.strip():
        raise DevMatrixError(
            "No code given; nothing changed.", "Pass --file or save in the editor."
        )
    item = resolve_review(engine, item_id, "edited", note="edited by hand")
    record_human_code(engine, item.atom_id, code)
    console.print(f"review item {item_id}: your code replaces the atom's")
    if run:
        _resume(item.plan_id)


def _item(session: Session, item_id: int) -> tuple[ReviewItem, Atom]:
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFoundError(f"There is no review item {item_id}.", "See `devmatrix review list`.")
    atom = session.get(Atom, item.atom_id)
    assert atom is not None
    return item, atom


def _resume(plan_id: int) -> None:
    from devmatrix.cli.run import resume_command

    engine = open_database(get_settings().effective_database_url)
    with session_scope(engine) as session:
        plan = session.get(MasterPlan, plan_id)
        folder = plan.output_dir if plan else None
    if folder:
        resume_command(plan_id=plan_id, out=None, concurrency=8)
    else:
        console.print("the plan has no output folder yet; run it with `devmatrix run --plan`")
