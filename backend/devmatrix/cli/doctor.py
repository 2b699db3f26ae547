"""`devmatrix doctor`."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from devmatrix.cli.app import app
from devmatrix.config import get_settings
from devmatrix.doctor import run_checks


@app.command()
def doctor() -> None:
    """Show which implementation of each part is active and check that each one works."""
    checks = run_checks(get_settings())
    table = Table(title="DevMatrix doctor")
    for column in ("part", "implementation", "status", "detail"):
        table.add_column(column)
    for check in checks:
        status = "[green]ok[/]" if check.ok else "[red]FAIL[/]"
        table.add_row(check.part, check.implementation, status, check.detail)
    Console().print(table)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
