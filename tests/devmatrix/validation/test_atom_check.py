"""L1: parse, exactly the planned symbol, the planned signature, no undefined names."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from devmatrix.code.extract import extract_atoms
from devmatrix.code.languages import language_for
from devmatrix.validation.atom_check import AtomContract, check_atom
from devmatrix.validation.findings import Code, Level

ADD = AtomContract("calc/ops.py", "add", "function", "def add(a: int, b: int = 0) -> int")


def test_correct_atom_passes() -> None:
    assert check_atom(ADD, "def add(a: int, b: int = 0) -> int:\n    return a + b\n") == []


def test_syntax_error_names_the_line() -> None:
    [finding] = check_atom(ADD, "def add(a: int, b: int = 0) -> int:\n    return (a + b\n")
    assert finding.code == Code.SYNTAX_ERROR
    assert finding.level == Level.ATOM
    assert finding.atom_keys == ("calc/ops.py::add",)
    assert "does not parse" in finding.feedback
    assert "return (a + b" in finding.feedback


def test_other_symbol_and_extra_definitions_are_wrong_symbol() -> None:
    [missing] = check_atom(ADD, "def plus(a: int, b: int = 0) -> int:\n    return a + b\n")
    assert missing.code == Code.WRONG_SYMBOL
    assert "does not define `add`" in missing.feedback
    code = "def helper():\n    return 1\n\n\ndef add(a: int, b: int = 0) -> int:\n    return a + helper()\n"
    [extra] = check_atom(ADD, code)
    assert extra.code == Code.WRONG_SYMBOL
    assert "also defines `helper`" in extra.feedback
    [kind] = check_atom(ADD, "class add:\n    pass\n")
    assert "is a class, the plan says function" in kind.feedback


def test_imports_in_the_answer_are_allowed() -> None:
    code = "import math\n\n\ndef add(a: int, b: int = 0) -> int:\n    return math.floor(a + b)\n"
    assert check_atom(ADD, code) == []


def test_undefined_name_is_reported_unless_planned() -> None:
    code = "def add(a: int, b: int = 0) -> int:\n    return clamp(a + b)\n"
    [finding] = check_atom(ADD, code)
    assert finding.code == Code.UNDEFINED_NAME
    assert finding.details["name"] == "clamp"
    assert "`clamp`" in finding.feedback
    assert "return clamp(a + b)" in finding.feedback
    planned = AtomContract(
        ADD.file, ADD.qualified_name, ADD.kind, ADD.signature, uses=("calc.bounds.clamp",)
    )
    assert check_atom(planned, code) == []


def test_names_from_the_file_around_count_and_lines_are_file_lines() -> None:
    head = "LIMIT = 10\n\n\n"
    code = "def add(a: int, b: int = 0) -> int:\n    return min(a + b, LIMIT) + missing\n"
    [finding] = check_atom(ADD, code, file_source=head + code)
    assert finding.details["name"] == "missing"
    assert finding.line == 5  # line 2 of the atom, after three lines of file


def test_method_must_sit_in_its_class() -> None:
    contract = AtomContract("shop/cart.py", "Cart.size", "method", "def size(self) -> int")
    method = "    def size(self) -> int:\n        return len(self.items)\n"
    inside = "class Cart:\n    items: list[str] = []\n\n" + method
    assert check_atom(contract, method, file_source=inside) == []
    outside = "class Cart:\n    items: list[str] = []\n\n\n" + method.replace(
        "    ", "", 1
    ).replace("        ", "    ")
    [finding] = check_atom(contract, outside.split("\n\n\n", 1)[1], file_source=outside)
    assert finding.code == Code.WRONG_SYMBOL
    assert "method of `Cart`" in finding.feedback


def test_wrong_signature_fixture_against_its_plan(make_project: Callable[[str], Path]) -> None:
    root = make_project("wrong_signature")
    contracts = [AtomContract(**c) for c in json.loads((root / "contracts.json").read_text())]
    codes: dict[str, list[Code]] = {}
    for contract in contracts:
        source = (root / contract.file).read_text()
        spec = language_for(contract.file)
        assert spec is not None
        atoms = extract_atoms(contract.file, source.encode(), spec).atoms
        atom = next(a for a in atoms if a.qualified_name == contract.qualified_name)
        code = source.encode()[atom.start_byte : atom.end_byte].decode()
        findings = check_atom(contract, code, file_source=source)
        codes[contract.key] = [f.code for f in findings]
        if findings:
            assert findings[0].line == atom.start_line
            assert "def discount(price: float, rate: float = 0.1) -> float" in findings[0].feedback
            assert "(price, percent)" in findings[0].feedback
    assert codes == {
        "shop/pricing.py::discount": [Code.SIGNATURE_MISMATCH],
        "shop/pricing.py::with_tax": [],
        "shop/cart.py::Cart.total": [],
    }


def test_class_and_constants_atoms() -> None:
    shell = AtomContract("shop/cart.py", "Cart", "class", "class Cart(Base)")
    assert check_atom(shell, "class Cart(Base):\n    pass\n", known_names=("Base",)) == []
    [bases] = check_atom(shell, "class Cart:\n    pass\n")
    assert bases.code == Code.SIGNATURE_MISMATCH
    assert "class Cart(Base)" in bases.feedback
    limits = AtomContract("shop/limits.py", "MAX_ITEMS", "constants")
    assert check_atom(limits, "MAX_ITEMS = 10\nMAX_PRICE = 1000.0\n") == []
    [missing] = check_atom(limits, "MAX_PRICE = 1000.0\n")
    assert missing.code == Code.WRONG_SYMBOL
    assert "does not assign `MAX_ITEMS`" in missing.feedback


def test_other_languages_get_parse_and_symbol_checks() -> None:
    contract = AtomContract("web/cart.js", "total", "function", "function total(items)")
    assert check_atom(contract, "function total(items) {\n  return items.length;\n}\n") == []
    [wrong] = check_atom(contract, "function sum(items) {\n  return 0;\n}\n")
    assert wrong.code == Code.WRONG_SYMBOL
    [broken] = check_atom(contract, "function total(items) {\n  return (items;\n}\n")
    assert broken.code == Code.SYNTAX_ERROR
    assert "valid JavaScript" in broken.feedback
