"""Diagnostics are rebuilt only for the atoms whose state changed, and the same objects keep the
same JSON form; what the editor receives is exactly what a fresh computation gives."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.protocol import default_converter

from devmatrix_lsp.atoms import AtomView, PlanIndex, ReviewView
from devmatrix_lsp.diagnostics import DiagnosticMemo, cached_unstructure, file_diagnostics
from devmatrix_lsp.documents import DocumentStore
from devmatrix_lsp.placement import Placement

CODE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


def plan(tmp_path: Path) -> tuple[PlanIndex, Placement]:
    (tmp_path / "ops.py").write_text(CODE, encoding="utf-8")
    index = PlanIndex(1)
    for number, name in ((1, "add"), (2, "sub")):
        index.put_atom(
            AtomView(id=number, key=f"ops.py::{name}", file="ops.py", qualified_name=name)
        )
    index.reviews[1] = ReviewView(id=10, atom_id=1, confidence=0.4)
    index.reviews[2] = ReviewView(id=20, atom_id=2, confidence=0.5)
    return index, Placement(tmp_path, DocumentStore())


def test_only_the_changed_atom_is_rebuilt(tmp_path: Path) -> None:
    index, place = plan(tmp_path)
    memo = DiagnosticMemo()
    first = file_diagnostics(index, place, "ops.py", memo)
    assert [d.range.start.line for d in first] == [0, 4]

    index.reviews[2] = ReviewView(id=21, atom_id=2, confidence=0.6)
    second = file_diagnostics(index, place, "ops.py", memo)
    assert second[0] is first[0]  # add did not change
    assert second[1] is not first[1]
    assert "confidence 0.60" in second[1].message
    assert second == file_diagnostics(index, place, "ops.py")  # same as computed afresh

    index.atoms[1].status = "approved"  # approved: its warning goes
    assert [d.data for d in file_diagnostics(index, place, "ops.py", memo)] == [
        {"atomId": 2, "reviewId": 21}
    ]

    (tmp_path / "ops.py").write_text("\n\n" + CODE, encoding="utf-8")  # the symbol moved
    moved = file_diagnostics(index, place, "ops.py", memo)
    assert moved[0].range.start.line == 6


def test_the_same_diagnostic_keeps_its_json_form(tmp_path: Path) -> None:
    index, place = plan(tmp_path)
    converter = default_converter()
    original = converter.get_unstructure_hook(types.Diagnostic)
    hook = cached_unstructure(original, size=2)
    found = file_diagnostics(index, place, "ops.py")
    form = hook(found[0])
    assert form == original(found[0])
    assert hook(found[0]) is form
    hook(found[1])
    hook(file_diagnostics(index, place, "ops.py")[0])  # a third object evicts the oldest
    assert hook(found[0]) is not form
    assert hook(found[0]) == form
