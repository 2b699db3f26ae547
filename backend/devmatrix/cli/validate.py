"""`devmatrix validate DIR`: levels 1 to 3 on an existing project, failures listed per atom."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from devmatrix.cli.app import app
from devmatrix.confidence import ConfidenceInputs, confidence, levels_for_atom
from devmatrix.errors import DevMatrixError
from devmatrix.validation.atom_check import AtomContract
from devmatrix.validation.in_sandbox import atom_coverage
from devmatrix.validation.project import ProjectReport, validate_project


class OutputFormat(StrEnum):
    """How the report is printed."""

    table = "table"
    json = "json"


def _symbol(keys: tuple[str, ...]) -> str:
    return ", ".join(k.partition("::")[2] for k in keys) or "-"


def _atoms(report: ProjectReport) -> list[dict[str, Any]]:
    rows = []
    for atom in report.atoms:
        if atom.kind in ("imports", "test"):
            continue
        fraction = atom_coverage(report.coverage, atom)
        levels = levels_for_atom(atom.id, (1, 2, 3), report.findings)
        score = confidence(ConfidenceInputs(levels, attempts=1, coverage=fraction))
        rows.append({"atom": atom.id, "coverage": fraction, "confidence": score})
    return rows


def _as_json(report: ProjectReport) -> str:
    failed = sum(1 for o in report.outcomes if o.failed)
    data = {
        "passed": report.passed,
        "tests": {"total": len(report.outcomes), "failed": failed},
        "findings": [{**f.as_dict(), "symbol": _symbol(f.atom_keys)} for f in report.findings],
        "atoms": _atoms(report),
    }
    return json.dumps(data, indent=2)


def _table(report: ProjectReport) -> Table:
    table = Table(title=f"{len(report.findings)} problem(s)")
    for column in ("level", "code", "file", "symbol", "line", "message"):
        table.add_column(column, overflow="fold")
    for f in report.findings:
        table.add_row(
            f"L{int(f.level)}",
            str(f.code),
            f.file or "-",
            _symbol(f.atom_keys),
            str(f.line or "-"),
            f.message,
        )
    return table


def _read_contracts(path: Path) -> list[AtomContract]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [
            AtomContract(
                file=str(item["file"]),
                qualified_name=str(item["qualified_name"]),
                kind=str(item["kind"]),
                signature=str(item.get("signature", "")),
                uses=tuple(str(u) for u in item.get("uses", ())),
            )
            for item in raw
        ]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise DevMatrixError(
            f"Cannot read contracts from {path}: {exc!r}.",
            "Give a JSON list of objects with file, qualified_name, kind and signature.",
        ) from None


@app.command()
def validate(
    directory: Annotated[Path, typer.Argument(help="The project folder (with its tests).")],
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or json.")
    ] = OutputFormat.table,
    lint: Annotated[bool, typer.Option("--lint/--no-lint", help="Run ruff (level 3).")] = True,
    contracts: Annotated[
        Path | None,
        typer.Option(
            "--contracts",
            help="JSON list of planned atoms {file, qualified_name, kind, signature, uses}.",
        ),
    ] = None,
) -> None:
    """Check an existing project at levels 1-3 (parse, names, imports, tests, lint) per atom."""
    if not directory.is_dir():
        raise DevMatrixError(f"{directory} is not a folder.", "Pass the project's root folder.")
    planned = _read_contracts(contracts) if contracts else []
    report = validate_project(directory.resolve(), lint=lint, contracts=planned)
    console = Console()
    if output == OutputFormat.json:
        typer.echo(_as_json(report))
    elif report.passed:
        console.print(
            f"[green]ok[/]: {len(report.atoms)} atoms, {len(report.outcomes)} tests, no problems"
        )
    else:
        console.print(_table(report))
    if not report.passed:
        raise typer.Exit(1)
