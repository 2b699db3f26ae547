"""`devmatrix validate DIR` end to end: real atomizer, real sandbox, real ruff."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from devmatrix.cli import main


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return int(exit_info.value.code or 0)


def test_json_report_lists_failures_per_atom(
    make_project: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project("undefined_name")
    assert _run(["validate", str(root), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False
    rows = {(f["code"], f["file"], f["symbol"], f["line"]) for f in report["findings"]}
    assert ("L1-undefined-name", "shop/cart.py", "Cart.total", 20) in rows
    # The same typo makes the tests that reach it fail with a NameError raised in Cart.total.
    failed = [f for f in report["findings"] if f["code"] == "L2-test-failed"]
    assert {f["symbol"] for f in failed} == {"Cart.total"}
    assert any("NameError" in f["feedback"] for f in failed)
    assert report["tests"] == {"total": 5, "failed": 2}
    scores = {a["atom"]: a["confidence"] for a in report["atoms"]}
    assert scores["shop/pricing.py::with_tax"] == 1.0
    assert scores["shop/cart.py::Cart.total"] < 0.7


def test_table_report_and_exit_code(
    make_project: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # Rich wraps cells to the terminal width
    broken = make_project("syntax_error")
    assert _run(["validate", str(broken), "--no-lint"]) == 1
    out = capsys.readouterr().out
    rows = [line.split("│")[1:-1] for line in out.splitlines() if line.startswith("│")]
    cells = [tuple(cell.strip() for cell in row[:5]) for row in rows]
    # The syntax error is blamed on the function it is in, and so is the import it breaks.
    assert cells == [
        ("L1", "L1-syntax-error", "shop/pricing.py", "with_tax", "15"),
        ("L2", "L2-import-error", "shop/pricing.py", "with_tax", "15"),
    ]


def test_not_a_folder_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["validate", str(tmp_path / "missing")]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_contracts_add_the_planned_signature_check(
    make_project: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project("wrong_signature")
    args = ["validate", str(root), "--format", "json", "--contracts", str(root / "contracts.json")]
    assert _run(args) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    [mismatch] = [f for f in findings if f["level"] == 1]
    assert (mismatch["code"], mismatch["symbol"], mismatch["line"]) == (
        "L1-signature-mismatch",
        "discount",
        6,
    )
    assert (
        mismatch["details"]["planned"] == "def discount(price: float, rate: float = 0.1) -> float"
    )
    (root / "bad.json").write_text('[{"file": "x.py"}]')
    assert _run(["validate", str(root), "--contracts", str(root / "bad.json")]) == 1
    assert "Cannot read contracts" in capsys.readouterr().err
