"""The Typer application object and the state shared by all commands."""

from __future__ import annotations

from dataclasses import dataclass

import typer


@dataclass
class CliState:
    """Options given before the command name."""

    debug: bool = False


state = CliState()

app = typer.Typer(
    name="devmatrix",
    help="DevMatrix: turn a plain-language spec into validated code, atom by atom.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """DevMatrix: turn a plain-language spec into validated code, atom by atom."""
    if debug:
        state.debug = True
