"""The dependency graph against hand-checked edges of small real packages."""

from __future__ import annotations

from pathlib import Path

from devmatrix.code.atomizer import AtomCache, atomize_path
from devmatrix.graph import DependencyGraph, build_graph

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
