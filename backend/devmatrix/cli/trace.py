"""`devmatrix trace REQ-n` and `devmatrix trace FILE:LINE`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.tree import Tree

from devmatrix.cli.app import app
from devmatrix.config import get_settings
from devmatrix.errors import DevMatrixError
from devmatrix.storage.db import open_database, session_scope
from devmatrix.storage.models import MasterPlan
from devmatrix.trace import latest_plan_id, trace_location, trace_requirement

console = Console()
_REQ = re.compile(r"^REQ-\d+$", re.IGNORECASE)
_LOCATION = re.compile(r"^(?P<file>.+):(?P<line>\d+)$")


@app.command("trace")
def trace(
    target: Annotated[str, typer.Argument(help="REQ-n, or FILE:LINE of generated code.")],
    plan_id: Annotated[int | None, typer.Option("--plan", help="Plan (default: latest).")] = None,
) -> None:
    """Follow a requirement to its tasks, atoms, tests and verdicts, or code back to requirements."""
    engine = open_database(get_settings().effective_database_url)
    with session_scope(engine) as session:
        plan_id = plan_id or latest_plan_id(session)
        if _REQ.match(target):
            chain = trace_requirement(session, plan_id, target)
            tree = Tree(f"[bold]{chain.code}[/] {chain.text}")
            criteria = tree.add("acceptance criteria")
            for criterion in chain.criteria:
                criteria.add(criterion)
            tree.add("tasks: " + (", ".join(chain.tasks) or "none"))
            atoms = tree.add(f"atoms ({len(chain.atoms)})")
            for atom in chain.atoms:
                levels = " ".join(
                    f"L{n}{'✓' if ok else '✗'}" for n, ok in sorted(atom.levels.items())
                )
                score = "-" if atom.confidence is None else f"{atom.confidence:.2f}"
                atoms.add(
                    f"{atom.key} [dim]{atom.kind}, {atom.status}, confidence {score}[/] {levels}"
                )
            tree.add("unit tests: " + (", ".join(chain.tests) or "none"))
            verdicts = tree.add("acceptance")
            for file, passed in chain.acceptance:
                verdicts.add(
                    f"{file}: {'pass' if passed else 'not run' if passed is None else 'FAIL'}"
                )
            console.print(tree)
            return
        match = _LOCATION.match(target)
        if match is None:
            raise DevMatrixError(f"Cannot trace {target!r}.", "Give REQ-n or FILE:LINE.")
        plan = session.get(MasterPlan, plan_id)
        root = Path(plan.output_dir) if plan and plan.output_dir else Path.cwd()
        found = trace_location(session, plan_id, root, match["file"], int(match["line"]))
        console.print(
            f"{match['file']}:{match['line']} is [bold]{found.key}[/] ({found.kind}, "
            f"{found.status}); requirements: {', '.join(found.requirement_codes) or 'none'}"
        )
        if found.intent:
            console.print(f"intent: {found.intent}")
