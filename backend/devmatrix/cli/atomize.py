"""`devmatrix atomize PATH`: the atoms and dependency graph of an existing code base."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from devmatrix.cli.app import app
from devmatrix.code.atomizer import Atomization, atomize_path
from devmatrix.config import get_settings
from devmatrix.graph import DependencyGraph, build_graph


@app.command()
def atomize(
    path: Annotated[Path, typer.Argument(help="Folder or source file to atomize.")],
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Cut existing code into atoms and show their dependency graph."""
    if output_format not in ("text", "json"):
        raise typer.BadParameter("use --format text or --format json", param_hint="--format")
    result = atomize_path(path, max_file_bytes=get_settings().atomize_max_file_bytes)
    graph = build_graph(result.atoms)
    if output_format == "json":
        typer.echo(json.dumps(atomization_json(result, graph), indent=2))
        return
    _print(Console(), result, graph)


def atomization_json(result: Atomization, graph: DependencyGraph) -> dict[str, Any]:
    """Every atom and edge as plain JSON, plus the problems met."""
    return {
        "atoms": [
            {
                "id": a.id,
                "file": a.file,
                "qualified_name": a.qualified_name,
                "kind": a.kind,
                "start_line": a.start_line,
                "end_line": a.end_line,
            }
            for a in result.atoms
        ],
        "edges": [{"from": e.source, "to": e.target} for e in graph.edges],
        "cycles": [list(c) for c in graph.cycles],
        "waves": len(graph.unit_waves),
        "longest_chain": graph.longest_chain(),
        "problems": [
            {"path": p.path, "reason": p.reason, "skipped": p.skipped} for p in result.problems
        ],
        "files": result.files,
        "lines": result.lines,
    }


def _print(console: Console, result: Atomization, graph: DependencyGraph) -> None:
    by_file: dict[str, list[str]] = defaultdict(list)
    for atom in result.atoms:
        by_file[atom.file].append(
            f"{atom.qualified_name} [dim]({atom.kind} {atom.start_line}-{atom.end_line})[/]"
        )
    table = Table("file", "atoms", show_lines=False)
    for file, names in by_file.items():
        table.add_row(file, "\n".join(names))
    console.print(table)
    console.print(
        f"{result.files} files, {len(result.atoms)} atoms, {len(graph.edges)} edges, "
        f"{len(graph.unit_waves)} waves, longest chain {len(graph.chain)} atoms"
    )
    if graph.chain:
        console.print("longest chain: " + " -> ".join(graph.chain), highlight=False)
    for cycle in graph.cycles:
        console.print(
            f"[yellow]cycle[/] ({len(cycle)} atoms): " + ", ".join(cycle), highlight=False
        )
    for problem in result.problems:
        label = "[red]skipped[/]" if problem.skipped else "[yellow]warning[/]"
        console.print(f"{label} {problem.path}: {problem.reason}", highlight=False)
