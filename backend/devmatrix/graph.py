"""The dependency graph over atoms: who uses what, cycles as units, waves and the longest chain.

Edges point from the atom that uses a symbol to the atom that defines it. Atoms in a cycle form
one unit (a strongly connected component); the units make a DAG (the condensation) that the
scheduler runs, dependencies first.

Components and waves are worked out on plain dict adjacency: on a code base of 60k atoms,
building networkx graphs cost more than the whole resolution. networkx still gives the longest
chain, built only when asked, and `to_networkx` for other analyses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import networkx as nx

from devmatrix.code.atomizer import gc_paused
from devmatrix.code.atoms import CodeAtom
from devmatrix.code.symbols import resolve_edges


class Edge(NamedTuple):
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
    unit_waves: tuple[tuple[int, ...], ...]

    @cached_property
    def unit_of(self) -> dict[str, int]:
        """The unit of every atom."""
        return {atom: unit for unit, members in enumerate(self.units) for atom in members}

    @cached_property
    def unit_edges(self) -> tuple[tuple[int, int], ...]:
        """(dependency unit, dependent unit) pairs, sorted."""
        unit_of = self.unit_of
        pairs = {(unit_of[e.target], unit_of[e.source]) for e in self.edges}
        return tuple(sorted((a, b) for a, b in pairs if a != b))

    def waves(self) -> list[list[str]]:
        """Topological generations of the units, as atom ids: wave 0 uses nothing."""
        return [sorted(a for u in wave for a in self.units[u]) for wave in self.unit_waves]

    @cached_property
    def chain(self) -> tuple[str, ...]:
        """The longest dependency chain as atom ids (a cycle's atoms are one step)."""
        if not self.units:
            return ()
        dag = nx.DiGraph()
        dag.add_nodes_from(range(len(self.units)))
        dag.add_edges_from(self.unit_edges)
        return tuple(atom for unit in nx.dag_longest_path(dag) for atom in self.units[unit])

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
    with gc_paused():
        pairs = resolve_edges(atoms)
        return graph_from_edges([a.id for a in atoms], pairs)


def graph_from_edges(nodes: Sequence[str], pairs: Sequence[tuple[str, str]]) -> DependencyGraph:
    """Build the graph from (user, used) pairs, e.g. from a planned set of atoms."""
    # Dependency -> dependents, in first-seen order (the order fixes the unit numbering).
    dependents: dict[str, dict[str, None]] = {node: {} for node in nodes}
    for user, used in pairs:
        dependents.setdefault(used, {})[user] = None
        dependents.setdefault(user, {})
    components = _components(dependents)
    generations = _generations(components, dependents)
    order = [u for wave in generations for u in wave]
    renumber = {old: new for new, old in enumerate(order)}
    return DependencyGraph(
        nodes=tuple(nodes),
        edges=tuple(map(Edge._make, pairs)),
        cycles=tuple(sorted(c for c in components if len(c) > 1)),
        units=tuple(components[u] for u in order),
        unit_waves=tuple(tuple(renumber[u] for u in wave) for wave in generations),
    )


def _components(successors: dict[str, dict[str, None]]) -> list[tuple[str, ...]]:
    """Strongly connected components (Tarjan, without recursion), each sorted; sinks first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []
    for root in successors:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        path: list[tuple[str, Iterable[str]]] = [(root, iter(successors[root]))]
        while path:
            node, pending = path[-1]
            for nxt in pending:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    path.append((nxt, iter(successors[nxt])))
                    break
                if nxt in on_stack and index[nxt] < low[node]:
                    low[node] = index[nxt]
            else:
                path.pop()
                if path and low[node] < low[path[-1][0]]:
                    low[path[-1][0]] = low[node]
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    found.append(tuple(sorted(members)) if len(members) > 1 else (node,))
    return found


def _generations(
    components: list[tuple[str, ...]], dependents: dict[str, dict[str, None]]
) -> list[list[int]]:
    """Topological generations of the condensed DAG, each sorted: a unit's wave is one past
    the latest wave of the units it uses (Tarjan found dependents first, so go backwards)."""
    component_of = {atom: i for i, members in enumerate(components) for atom in members}
    wave_of = [0] * len(components)
    for unit in range(len(components) - 1, -1, -1):
        later = wave_of[unit] + 1
        for atom in components[unit]:
            for user in dependents[atom]:
                other = component_of[user]
                if other != unit and wave_of[other] < later:
                    wave_of[other] = later
    generations: list[list[int]] = [[] for _ in range(max(wave_of, default=-1) + 1)]
    for unit, wave in enumerate(wave_of):
        generations[wave].append(unit)
    return generations
