"""The `devmatrix` command line. Each command group lives in its own module and registers here."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from devmatrix.cli import app as app_module
from devmatrix.errors import DevMatrixError

app = app_module.app

# Registration: importing a command module adds its commands to `app`.
from devmatrix.cli import atomize as _atomize  # noqa: E402
from devmatrix.cli import db as _db  # noqa: E402
from devmatrix.cli import doctor as _doctor  # noqa: E402
from devmatrix.cli import plan as _plan  # noqa: E402
from devmatrix.cli import review as _review  # noqa: E402
from devmatrix.cli import run as _run  # noqa: E402
from devmatrix.cli import serve as _serve  # noqa: E402
from devmatrix.cli import trace as _trace  # noqa: E402
from devmatrix.cli import validate as _validate  # noqa: E402

_REGISTERED = (_atomize, _db, _doctor, _plan, _review, _run, _serve, _trace, _validate)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; a `DevMatrixError` becomes one line on stderr and exit code 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
        app_module.state.debug = True
    try:
        app(args=args, prog_name="devmatrix", standalone_mode=True)
    except DevMatrixError as exc:
        if debug:
            raise
        Console(stderr=True).print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise SystemExit(1) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
