"""The dependency graph over atoms: who uses what, cycles as units, waves and the longest chain.

Edges point from the atom that uses a symbol to the atom that defines it. Atoms in a cycle form
one unit (a strongly connected component); the units make a DAG (the condensation) that the
scheduler runs, dependencies first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from devmatrix.code.atoms import CodeAtom
from devmatrix.code.symbols import resolve_edges


@dataclass(frozen=True, slots=True)
class Edge:
    """`source` uses a symbol that `target` defines (so `target` comes first)."""

    source: str
    target: str


@dataclass(frozen=True)
class DependencyGraph:
    """Atoms, edges and the condensed DAG of units (indices into `units`, dependencies first)."""

    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]
    cycles: tuple[tuple[str, ...], ...]
    units: tuple[tuple[str, ...], ...]
    unit_of: dict[str, int]
    unit_edges: tuple[tuple[int, int], ...]
    unit_waves: tuple[tuple[int, ...], ...]
    chain: tuple[str, ...]

    def waves(self) -> list[list[str]]:
        """Topological generations of the units, as atom ids: wave 0 uses nothing."""
        return [sorted(a for u in wave for a in self.units[u]) for wave in self.unit_waves]

    def longest_chain(self) -> list[str]:
        """The longest dependency chain, first dependency first (a cycle counts as one step)."""
        return list(self.chain)

    def dependencies(self, atom_id: str) -> list[str]:
        """The atoms `atom_id` uses directly."""
        return sorted(e.target for e in self.edges if e.source == atom_id)

    def to_networkx(self) -> nx.DiGraph:
        """A fresh networkx graph with edges from dependency to dependent."""
        graph = nx.DiGraph()
        graph.add_nodes_from(self.nodes)
        graph.add_edges_from((e.target, e.source) for e in self.edges)
        return graph


def build_graph(atoms: Sequence[CodeAtom]) -> DependencyGraph:
    """Resolve every atom's references and build the graph; cycles never raise."""
    pairs = resolve_edges(atoms)
    return graph_from_edges([a.id for a in atoms], pairs)


def graph_from_edges(nodes: Sequence[str], pairs: Sequence[tuple[str, str]]) -> DependencyGraph:
    """Build the graph from (user, used) pairs, e.g. from a planned set of atoms."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((used, user) for user, used in pairs)
    components = [tuple(sorted(c)) for c in nx.strongly_connected_components(graph)]
    dag = nx.condensation(graph, scc=[set(c) for c in components])
    generations = [sorted(g) for g in nx.topological_generations(dag)]
    order = [u for wave in generations for u in wave]
    renumber = {old: new for new, old in enumerate(order)}
    units = tuple(components[u] for u in order)
    unit_of = {atom: renumber[u] for atom, u in dag.graph["mapping"].items()}
    unit_edges = tuple(sorted((renumber[a], renumber[b]) for a, b in dag.edges))
    unit_waves = tuple(tuple(renumber[u] for u in wave) for wave in generations)
    longest = nx.dag_longest_path(dag) if dag.number_of_nodes() else []
    chain = tuple(atom for u in longest for atom in components[u])
    return DependencyGraph(
        nodes=tuple(nodes),
        edges=tuple(Edge(user, used) for user, used in pairs),
        cycles=tuple(sorted(c for c in components if len(c) > 1)),
        units=units,
        unit_of=unit_of,
        unit_edges=unit_edges,
        unit_waves=unit_waves,
        chain=chain,
    )
