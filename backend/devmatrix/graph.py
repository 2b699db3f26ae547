"""The dependency graph over atoms: who uses what, cycles as units, waves and the longest chain.

Edges point from the atom that uses a symbol to the atom that defines it. Atoms in a cycle form
one unit (a strongly connected component); the units make a DAG (the condensation) that the
scheduler runs, dependencies first.

Components and waves are worked out by hand on atoms numbered in first-seen order (lists of
numbers): on a code base of 60k atoms, building networkx graphs cost more than the whole
resolution. networkx still gives the longest chain, built only when asked, and `to_networkx` for
other analyses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
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
    # Atoms are numbered in first-seen order (the order fixes the unit numbering); a pair may
    # name an atom `nodes` does not list. Lists of numbers cost a fraction of dicts of ids.
    number = {node: i for i, node in enumerate(dict.fromkeys(nodes))}
    names = list(number)
    dependents: list[list[int]] = [[] for _ in names]
    for user, used in dict.fromkeys(pairs):
        if used not in number or user not in number:
            for atom in (used, user):
                if atom not in number:
                    number[atom] = len(names)
                    names.append(atom)
                    dependents.append([])
        dependents[number[used]].append(number[user])
    found = _components(dependents)
    components = [
        (names[members[0]],) if len(members) == 1 else tuple(sorted(names[i] for i in members))
        for members in found
    ]
    generations = _generations(found, dependents)
    order = [u for wave in generations for u in wave]
    renumber = [0] * len(order)
    for new, old in enumerate(order):
        renumber[old] = new
    return DependencyGraph(
        nodes=tuple(nodes),
        # tuple.__new__ is what Edge._make runs, without a Python call per edge.
        edges=tuple(map(partial(tuple.__new__, Edge), pairs)),
        cycles=tuple(sorted(c for c in components if len(c) > 1)),
        units=tuple(components[u] for u in order),
        unit_waves=tuple(tuple(renumber[u] for u in wave) for wave in generations),
    )


def _components(successors: list[list[int]]) -> list[list[int]]:
    """Strongly connected components (Tarjan, without recursion); sinks first."""
    size = len(successors)
    index = [-1] * size
    low = [0] * size
    on_stack = [False] * size
    stack: list[int] = []
    found: list[list[int]] = []
    count = 0
    for root in range(size):
        if index[root] >= 0:
            continue
        if not successors[root]:
            # An atom nothing uses (most of them) is a component of its own: no search.
            index[root] = count
            count += 1
            found.append([root])
            continue
        index[root] = low[root] = count
        count += 1
        stack.append(root)
        on_stack[root] = True
        path: list[tuple[int, Iterator[int]]] = [(root, iter(successors[root]))]
        while path:
            node, pending = path[-1]
            for nxt in pending:
                if index[nxt] < 0 and not successors[nxt]:
                    index[nxt] = count
                    count += 1
                    found.append([nxt])
                    continue
                if index[nxt] < 0:
                    index[nxt] = low[nxt] = count
                    count += 1
                    stack.append(nxt)
                    on_stack[nxt] = True
                    path.append((nxt, iter(successors[nxt])))
                    break
                if on_stack[nxt] and index[nxt] < low[node]:
                    low[node] = index[nxt]
            else:
                path.pop()
                if path and low[node] < low[path[-1][0]]:
                    low[path[-1][0]] = low[node]
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack[member] = False
                        members.append(member)
                        if member == node:
                            break
                    found.append(members)
    return found


def _generations(components: list[list[int]], dependents: list[list[int]]) -> list[list[int]]:
    """Topological generations of the condensed DAG, each sorted: a unit's wave is one past
    the latest wave of the units it uses (Tarjan found dependents first, so go backwards)."""
    component_of = [0] * len(dependents)
    for i, members in enumerate(components):
        for atom in members:
            component_of[atom] = i
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
