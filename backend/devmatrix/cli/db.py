"""`devmatrix db`: schema migrations."""

from __future__ import annotations

import typer
from rich.console import Console

from devmatrix.cli.app import app
from devmatrix.config import get_settings
from devmatrix.storage import migrate
from devmatrix.storage.db import engine_for

db_app = typer.Typer(help="Database schema: upgrade, downgrade, current revision, drift check.")
app.add_typer(db_app, name="db")
console = Console()


def _engine_url() -> str:
    return get_settings().effective_database_url


@db_app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database up to REVISION (default: newest)."""
    engine = engine_for(_engine_url())
    migrate.upgrade(engine, revision)
    console.print(f"database at revision [bold]{migrate.current_revision(engine)}[/]")


@db_app.command()
def downgrade(
    revision: str = typer.Argument(..., help='Target revision, e.g. "-1" or "base".'),
) -> None:
    """Migrate the database down to REVISION."""
    engine = engine_for(_engine_url())
    migrate.downgrade(engine, revision)
    console.print(f"database at revision [bold]{migrate.current_revision(engine)}[/]")


@db_app.command()
def current() -> None:
    """Print the database's revision and the newest one shipped."""
    engine = engine_for(_engine_url())
    console.print(f"current: {migrate.current_revision(engine)}  head: {migrate.head_revision()}")


@db_app.command()
def check() -> None:
    """Fail when the models and the migrated database differ."""
    drift = migrate.schema_drift(engine_for(_engine_url()))
    if drift:
        for diff in drift:
            console.print(f"[red]drift:[/] {diff}")
        raise typer.Exit(1)
    console.print("no drift between models and database")
