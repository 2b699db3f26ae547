"""The planning pipeline: spec -> discovery -> MasterPlan -> atoms -> dependency graph.

Each step saves only a complete, checked result in its own transaction. If atomization fails,
the discovery and the draft plan stay saved (they are valid and paid for) and the error names
the plan, so atoms can be planned again for it with `plan_atoms`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from devmatrix.code.atomizer import atomize_path
from devmatrix.planning.atom_graph import GraphSummary, save_atom_plan
from devmatrix.planning.atoms import generate_atoms
from devmatrix.planning.discovery import discover
from devmatrix.planning.errors import PlanningError
from devmatrix.planning.masterplan import generate_plan, save_plan
from devmatrix.planning.structured import DEFAULT_MAX_RETRIES, CompletionClient
from devmatrix.planning.symbols import module_of
from devmatrix.planning.versions import current_plan
from devmatrix.storage.db import session_scope


@dataclass(frozen=True)
class PlanningResult:
    """What the pipeline saved."""

    discovery_id: int
    plan_id: int
    atom_count: int
    graph: GraphSummary


def workspace_symbols(folder: Path) -> list[str]:
    """Dotted names of every symbol already in `folder` (`pkg.mod.func`), read with tree-sitter."""
    if not folder.is_dir():
        return []
    atomization = atomize_path(folder)
    names = []
    for atom in atomization.atoms:
        module = module_of(atom.file)
        names.append(f"{module}.{atom.qualified_name}" if module else atom.qualified_name)
    return sorted(set(names))


def workspace_symbols_of(output_dir: str | None) -> list[str]:
    """The workspace symbols of an output folder, none when there is no folder yet."""
    return workspace_symbols(Path(output_dir)) if output_dir else []


async def plan_atoms(
    client: CompletionClient,
    engine: Engine,
    plan_id: int,
    *,
    workspace_symbols: Iterable[str] = (),
    dependencies: Iterable[str] = (),
    max_retries: int = DEFAULT_MAX_RETRIES,
    user_id: int | None = None,
) -> GraphSummary:
    """Plan the atoms of a saved plan's current version and replace its atoms and graph."""
    with session_scope(engine) as session:
        spec = current_plan(session, plan_id)
    planned = await generate_atoms(
        client,
        spec,
        plan_id=plan_id,
        workspace_symbols=workspace_symbols,
        dependencies=dependencies,
        max_retries=max_retries,
        user_id=user_id,
    )
    with session_scope(engine) as session:
        return save_atom_plan(session, plan_id, planned)


async def plan_from_spec(
    client: CompletionClient,
    engine: Engine,
    spec_text: str,
    *,
    output_dir: str | None = None,
    workspace_symbols: Iterable[str] | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> PlanningResult:
    """Run the whole planning pipeline on a spec and return the ids and graph summary.

    Symbols already in `output_dir` count as defined unless `workspace_symbols` is given.
    """
    if workspace_symbols is None:
        workspace_symbols = workspace_symbols_of(output_dir)
    discovery_id, discovery = await discover(
        client, engine, spec_text, owner_id=owner_id, team_id=team_id, max_retries=max_retries
    )
    plan = await generate_plan(client, discovery, max_retries=max_retries, user_id=owner_id)
    with session_scope(engine) as session:
        row = save_plan(
            session,
            plan,
            discovery_id=discovery_id,
            owner_id=owner_id,
            team_id=team_id,
            output_dir=output_dir,
        )
        assert row.id is not None
        plan_id = row.id
    try:
        graph = await plan_atoms(
            client,
            engine,
            plan_id,
            workspace_symbols=workspace_symbols,
            max_retries=max_retries,
            user_id=owner_id,
        )
    except PlanningError as exc:
        raise PlanningError(
            f"Plan {plan_id} was saved as a draft without atoms: {exc.summary}",
            exc.hint,
            problems=exc.problems,
        ) from exc
    return PlanningResult(discovery_id, plan_id, graph.node_count, graph)
