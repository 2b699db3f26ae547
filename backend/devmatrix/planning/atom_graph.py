"""The planned atoms as a dependency graph: persisted atoms and edges, summary, cycles, waves.

A stored edge runs from the atom defining a symbol to the atom using it. The graph itself is
built by `devmatrix.graph` (networkx): cycles are reported with their atoms and condensed into
one unit, so waves -- topological generations, for display only -- always exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, select

from devmatrix.graph import graph_from_edges
from devmatrix.planning.atoms import PlannedAtom
from devmatrix.storage.models import (
    Atom,
    AtomDependency,
    DependencyGraph,
    ExecutionWave,
    MasterPlanTask,
    utcnow,
)


@dataclass(frozen=True)
class GraphSummary:
    """Size, longest chain (in atoms), cycles (atom keys) and waves (atom keys per generation)."""

    node_count: int
    edge_count: int
    longest_chain: int
    cycles: list[list[str]]
    waves: list[list[str]]


def summarize_graph(nodes: list[str], edges: list[tuple[str, str]]) -> GraphSummary:
    """Summarize a graph given as atom keys and (definer, user) edges, via `devmatrix.graph`."""
    graph = graph_from_edges(nodes, [(user, used) for used, user in edges])
    return GraphSummary(
        node_count=len(graph.nodes),
        edge_count=len(graph.edges),
        longest_chain=len(graph.longest_chain()),
        cycles=[list(cycle) for cycle in graph.cycles],
        waves=graph.waves(),
    )


def save_atom_plan(session: Session, plan_id: int, planned: list[PlannedAtom]) -> GraphSummary:
    """Replace the plan's atoms, edges, graph summary and waves with `planned` (one transaction)."""
    session.execute(delete(DependencyGraph).where(DependencyGraph.plan_id == plan_id))  # type: ignore[arg-type]
    session.execute(delete(Atom).where(Atom.plan_id == plan_id))  # type: ignore[arg-type]
    tasks = session.exec(select(MasterPlanTask).where(MasterPlanTask.plan_id == plan_id)).all()
    task_ids = {t.code: t.id for t in tasks}
    rows = {
        atom.key: _atom_row(plan_id, task_ids.get(atom.task), position, atom)
        for position, atom in enumerate(planned)
    }
    session.add_all(rows.values())
    session.flush()
    edges: list[tuple[str, str]] = []
    for atom in planned:
        for used_key, symbol in atom.depends_on:
            session.add(
                AtomDependency(
                    plan_id=plan_id,
                    from_atom_id=_id(rows[used_key]),
                    to_atom_id=_id(rows[atom.key]),
                    symbol=symbol[:200],
                )
            )
            edges.append((used_key, atom.key))
    summary = summarize_graph([a.key for a in planned], edges)
    _write_graph(session, plan_id, summary)
    return summary


def refresh_graph(session: Session, plan_id: int) -> GraphSummary | None:
    """Recompute the graph summary and waves from the plan's stored atoms and edges.

    Used after a plan edit removed atoms (a dropped task's atoms go with it); None when the plan
    has no atom graph yet.
    """
    if (
        session.exec(select(DependencyGraph).where(DependencyGraph.plan_id == plan_id)).first()
        is None
    ):
        return None
    atoms = session.exec(select(Atom).where(Atom.plan_id == plan_id)).all()
    keys = {a.id: a.key for a in atoms}
    rows = session.exec(select(AtomDependency).where(AtomDependency.plan_id == plan_id)).all()
    edges = [(keys[e.from_atom_id], keys[e.to_atom_id]) for e in rows]
    summary = summarize_graph([a.key for a in atoms], edges)
    session.execute(delete(DependencyGraph).where(DependencyGraph.plan_id == plan_id))  # type: ignore[arg-type]
    _write_graph(session, plan_id, summary)
    return summary


def _write_graph(session: Session, plan_id: int, summary: GraphSummary) -> None:
    graph_row = DependencyGraph(
        plan_id=plan_id,
        node_count=summary.node_count,
        edge_count=summary.edge_count,
        longest_chain=summary.longest_chain,
        cycles=summary.cycles,
    )
    session.add(graph_row)
    session.flush()
    for number, keys in enumerate(summary.waves, start=1):
        session.add(ExecutionWave(graph_id=_id(graph_row), number=number, atom_keys=keys))
    session.flush()


def _atom_row(plan_id: int, task_id: int | None, position: int, atom: PlannedAtom) -> Atom:
    return Atom(
        plan_id=plan_id,
        task_id=task_id,
        key=atom.key,
        file=atom.spec.file,
        qualified_name=atom.spec.qualified_name,
        kind=atom.spec.kind,
        signature=atom.spec.signature,
        intent=atom.spec.intent,
        uses=list(atom.spec.uses),
        requirement_codes=list(atom.spec.requirements),
        position=position,
        size_target=atom.spec.size_target,
        updated_at=utcnow(),
    )


def _id(row: Atom | DependencyGraph) -> int:
    assert row.id is not None
    return row.id
