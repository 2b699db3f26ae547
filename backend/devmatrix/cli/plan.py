"""`devmatrix plan SPEC`: discovery -> MasterPlan -> atoms -> graph, saved as a draft plan."""

from __future__ import annotations

import asyncio
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.tree import Tree

from devmatrix.cli.app import app
from devmatrix.config import get_settings
from devmatrix.llm.client import build_llm_client
from devmatrix.planning.discovery import check_spec, read_spec
from devmatrix.planning.export import plan_export, plan_markdown
from devmatrix.planning.pipeline import plan_from_spec
from devmatrix.storage.db import open_database, session_scope


class PlanFormat(StrEnum):
    """How the saved plan is shown."""

    tree = "tree"
    json = "json"
    markdown = "markdown"


@app.command("plan")
def plan_command(
    spec: Annotated[
        Path, typer.Argument(help="Spec file (Markdown or text); '-' reads standard input.")
    ],
    output_format: Annotated[
        PlanFormat, typer.Option("--format", "-f", help="tree (default), json or markdown.")
    ] = PlanFormat.tree,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the json/markdown export to this file."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            help="Folder the code will be written to; symbols already there count as defined.",
        ),
    ] = None,
) -> None:
    """Plan SPEC: requirements, phases, milestones, tasks, atoms and waves; prints the plan id."""
    text = check_spec(sys.stdin.read()) if str(spec) == "-" else read_spec(spec)
    settings = get_settings()
    engine = open_database(settings.effective_database_url)
    client = build_llm_client(settings, engine)
    result = asyncio.run(
        plan_from_spec(client, engine, text, output_dir=str(out_dir.resolve()) if out_dir else None)
    )
    with session_scope(engine) as session:
        export = plan_export(session, result.plan_id)
    out = Console()
    rendered = None
    if output_format is PlanFormat.json:
        rendered = json.dumps(export, indent=2)
    elif output_format is PlanFormat.markdown:
        rendered = plan_markdown(export)
    if rendered is not None and output is None:
        sys.stdout.write(rendered.rstrip("\n") + "\n")
        # Standard output carries only the export; the id goes to standard error.
        Console(stderr=True).print(_saved_line(export), highlight=False, soft_wrap=True)
        return
    if rendered is not None and output is not None:
        output.write_text(rendered.rstrip("\n") + "\n", encoding="utf-8")
    out.print(plan_tree(export))
    if output is not None:
        out.print(f"exported {output_format.value} to {output}", highlight=False, soft_wrap=True)
    out.print(_saved_line(export), highlight=False, soft_wrap=True)


def plan_tree(export: dict[str, Any]) -> Tree:
    """The exported plan as a Rich tree: phases, milestones, tasks and their atoms, with counts."""
    counts = export["counts"]
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    tree = Tree(f"[bold]{export['title']}[/] ({summary})")
    for phase in export["plan"]["phases"]:
        phase_node = tree.add(f"[bold cyan]{phase['name']}[/]")
        for milestone in phase["milestones"]:
            milestone_node = phase_node.add(f"[cyan]{milestone['name']}[/]")
            for task in milestone["tasks"]:
                after = f" after {', '.join(task['depends_on'])}" if task["depends_on"] else ""
                task_node = milestone_node.add(
                    f"[bold]{task['code']}[/] {task['title']} "
                    f"[dim]{', '.join(task['requirements'])}{after}[/]"
                )
                for atom in task.get("atoms", []):
                    task_node.add(f"{atom['key']} [dim]{atom['kind']}[/]")
    graph = export["graph"]
    if graph["cycles"]:
        cycles = tree.add("[yellow]cycles (scheduled as one unit each)[/]")
        for cycle in graph["cycles"]:
            cycles.add(" <-> ".join(cycle))
    return tree


def _saved_line(export: dict[str, Any]) -> str:
    return (
        f"plan id: {export['id']} (version {export['version']}, {export['status']}; run it with "
        f"`devmatrix approve {export['id']}` then `devmatrix run --plan {export['id']}`)"
    )
