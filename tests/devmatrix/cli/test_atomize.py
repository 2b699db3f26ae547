"""`devmatrix atomize` run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parents[2] / "fixtures"
CLI = [sys.executable, "-c", "from devmatrix.cli import main; main()"]


def test_json_output_lists_every_atom_and_edge() -> None:
    done = subprocess.run(
        [*CLI, "atomize", str(FIXTURES / "shop"), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout)
    empty = next(a for a in data["atoms"] if a["id"] == "shop/models.py::Order.empty")
    assert empty == {
        "id": "shop/models.py::Order.empty",
        "file": "shop/models.py",
        "qualified_name": "Order.empty",
        "kind": "method",
        "start_line": 14,
        "end_line": 16,
    }
    assert {"from": "shop/models.py::Order.empty", "to": "shop/models.py::Order.build"} in data[
        "edges"
    ]
    assert data["cycles"] == [["shop/billing/invoice.py::record", "shop/billing/ledger.py::post"]]
    assert data["problems"] == []


def test_text_output_and_missing_path() -> None:
    done = subprocess.run(
        [*CLI, "atomize", str(FIXTURES / "webapp")], capture_output=True, text=True, check=True
    )
    assert "8 atoms" in done.stdout
    assert "Store.key" in done.stdout
    missing = subprocess.run(
        [*CLI, "atomize", str(FIXTURES / "nope")], capture_output=True, text=True, check=False
    )
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr
