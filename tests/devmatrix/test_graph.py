"""The dependency graph against hand-checked edges of small real packages."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import networkx as nx

from devmatrix.code.atomizer import AtomCache, atomize_path
from devmatrix.graph import DependencyGraph, build_graph, graph_from_edges

FIXTURES = Path(__file__).parents[1] / "fixtures"
INV = "shop/billing/invoice.py::"
LED = "shop/billing/ledger.py::"
MOD = "shop/models.py::"

# Checked by reading the fixture: one line per import form or lookup rule it exercises.
SHOP_EDGES = {
    ("shop/__init__.py::<imports>", MOD + "Order"),  # from .models import Order
    (INV + "<imports>", MOD + "Order"),  # from shop import Order (re-exported by __init__)
    (INV + "<imports>", MOD + "<constants>"),  # from ..models import TAX as RATE
    (INV + "make_invoice", MOD + "Order"),  # Order(amount), through the re-export
    (INV + "make_invoice", MOD + "<constants>"),  # RATE (alias of TAX)
    (INV + "make_invoice", MOD + "Order.empty"),  # m.Order.empty() (import ... as m)
    (INV + "legacy_total", MOD + "Order"),  # shop.models.Order (import shop.models)
    (INV + "record", INV + "make_invoice"),  # same-file call
    (INV + "record", LED + "post"),  # ledger.post (from . import ledger)
    (LED + "<imports>", INV + "record"),  # from .invoice import record
    (LED + "post", INV + "record"),  # closes the cycle record <-> post
    (LED + "replay", INV + "record"),
    (MOD + "Order.__init__", MOD + "Order"),  # a method needs its class
    (MOD + "Order.total", MOD + "Order"),
    (MOD + "Order.total", MOD + "Order.tax"),  # self.tax()
    (MOD + "Order.tax", MOD + "Order"),
    (MOD + "Order.tax", MOD + "<constants>"),  # TAX
    (MOD + "Order.empty", MOD + "Order"),
    (MOD + "Order.empty", MOD + "Order.build"),  # cls.build()
    (MOD + "Order.build", MOD + "Order"),
}


def shop_graph() -> DependencyGraph:
    return build_graph(atomize_path(FIXTURES / "shop", cache=AtomCache()).atoms)


def test_edges_match_hand_checked_expectations() -> None:
    graph = shop_graph()
    assert {(e.source, e.target) for e in graph.edges} == SHOP_EDGES


def test_nested_function_call_gives_no_edge() -> None:
    graph = shop_graph()
    assert graph.dependencies(INV + "make_invoice") == [
        MOD + "<constants>",
        MOD + "Order",
        MOD + "Order.empty",
    ]


def test_cycle_is_reported_and_scheduled_as_one_unit() -> None:
    graph = shop_graph()
    assert graph.cycles == ((INV + "record", LED + "post"),)
    unit = graph.unit_of[INV + "record"]
    assert graph.unit_of[LED + "post"] == unit
    assert graph.units[unit] == (INV + "record", LED + "post")
    # Every dependency of a unit sits in an earlier wave.
    wave_of = {u: i for i, wave in enumerate(graph.unit_waves) for u in wave}
    assert all(wave_of[a] < wave_of[b] for a, b in graph.unit_edges)


def test_waves_and_longest_chain() -> None:
    graph = shop_graph()
    waves = graph.waves()
    assert MOD + "<constants>" in waves[0]
    assert MOD + "Order.empty" in waves[2]  # <constants>/Order -> build -> empty
    assert graph.longest_chain() == [
        MOD + "Order",
        MOD + "Order.build",
        MOD + "Order.empty",
        INV + "make_invoice",
        INV + "record",  # the cycle unit: both atoms, one step
        LED + "post",
        LED + "<imports>",
    ]
    assert len(waves) == 6


def test_javascript_and_typescript_imports_resolve() -> None:
    atoms = atomize_path(FIXTURES / "webapp", cache=AtomCache()).atoms
    edges = {(e.source, e.target) for e in build_graph(atoms).edges}
    assert ("store.ts::Store.key", "util.js::slugify") in edges  # slug alias and require()
    assert ("store.ts::Store.add", "util.js::<constants>") in edges  # SEPARATOR
    assert ("store.ts::Store.add", "store.ts::Store.key") in edges  # this.key()
    assert ("store.ts::Store.add", "store.ts::Item") in edges  # type reference


def random_pairs(seed: int, size: int) -> tuple[list[str], list[tuple[str, str]]]:
    """A graph with chains, shared dependencies, a few cycles and a self-loop."""
    rng = random.Random(seed)
    nodes = [f"n{i:03d}" for i in range(size)]
    pairs = {(nodes[i], nodes[rng.randrange(i)]) for i in range(1, size) for _ in range(2)}
    pairs |= {(nodes[rng.randrange(size)], nodes[rng.randrange(size)]) for _ in range(size // 8)}
    pairs.add(("outside", nodes[0]))  # an atom only the edges name
    return nodes, sorted(pairs)


def test_units_waves_and_chain_agree_with_networkx() -> None:
    for seed in range(5):
        nodes, pairs = random_pairs(seed, 120)
        graph = graph_from_edges(nodes, pairs)
        reference = nx.DiGraph()
        reference.add_nodes_from(nodes)
        reference.add_edges_from((used, user) for user, used in pairs)
        components = list(nx.strongly_connected_components(reference))
        dag = nx.condensation(reference, scc=components)
        members = dag.graph["mapping"]
        expected_waves = [
            sorted(a for a, unit in members.items() if unit in set(wave))
            for wave in nx.topological_generations(dag)
        ]
        assert graph.waves() == expected_waves
        assert set(graph.cycles) == {tuple(sorted(c)) for c in components if len(c) > 1}
        assert {frozenset(u) for u in graph.units} == {frozenset(c) for c in components}
        assert all(a in graph.units[graph.unit_of[a]] for a in reference)
        expected_edges = {
            (graph.unit_of[used], graph.unit_of[user])
            for user, used in pairs
            if graph.unit_of[used] != graph.unit_of[user]
        }
        assert set(graph.unit_edges) == expected_edges
        chain_units = [graph.unit_of[a] for a in graph.longest_chain()]
        steps = list(dict.fromkeys(chain_units))
        assert len(steps) == nx.dag_longest_path_length(dag) + 1
        assert all(pair in expected_edges for pair in itertools.pairwise(steps))


def test_empty_graph_has_no_waves_or_chain() -> None:
    graph = graph_from_edges([], [])
    assert (graph.waves(), graph.longest_chain(), graph.cycles, graph.unit_edges) == (
        [],
        [],
        (),
        (),
    )
