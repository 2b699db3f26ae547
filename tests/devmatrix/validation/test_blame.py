"""Failures mapped to atoms by line and traceback, and the feedback that becomes the next prompt."""

from __future__ import annotations

from devmatrix.code.atoms import CodeAtom
from devmatrix.code.extract import extract_atoms
from devmatrix.code.languages import language_for
from devmatrix.validation.blame import (
    FEEDBACK_LIMIT,
    atom_at,
    atom_under_test,
    blame,
    by_atom,
    feedback_for_atom,
)
from devmatrix.validation.findings import Code, Finding, Level, trim_output

CART = """from shop.pricing import discount


class Cart:
    def __init__(self):
        self.items = {}

    def add(self, name, price):
        self.items[name] = price

    def total(self, rate=0.0):
        return discount(sum(self.items.values()), rate)
"""
PRICING = """def discount(price, rate=0.1):
    if not 0 < rate <= 1:
        raise ValueError("rate")
    return price * (1 - rate)


def with_tax(price):
    return price * 0.2
"""
TESTS = """from shop.cart import Cart
from shop.pricing import with_tax


def test_cart_add_rejects_negative_price():
    Cart().add("x", -1)


def test_with_tax():
    assert with_tax(10.0) == 12.0
"""
SOURCES = {"shop/cart.py": CART, "shop/pricing.py": PRICING, "tests/test_cart.py": TESTS}


def _atoms() -> list[CodeAtom]:
    atoms: list[CodeAtom] = []
    for file, text in SOURCES.items():
        spec = language_for(file)
        assert spec is not None
        atoms.extend(extract_atoms(file, text.encode(), spec).atoms)
    return atoms


def _test_failure(frames: list[list[object]], test_name: str) -> Finding:
    return Finding(
        Level.TASK,
        Code.TASK_TEST_FAILED,
        "failed",
        "The test fails.",
        file="tests/test_cart.py",
        line=5,
        details={"frames": frames, "test_name": test_name, "test_file": "tests/test_cart.py"},
    )


def test_innermost_atom_at_a_line() -> None:
    atoms = _atoms()
    assert atom_at(atoms, "shop/cart.py", 12).qualified_name == "Cart.total"  # type: ignore[union-attr]
    assert atom_at(atoms, "shop/cart.py", 4).qualified_name == "Cart"  # type: ignore[union-attr]
    assert atom_at(atoms, "shop/cart.py", 2) is None


def test_innermost_generated_frame_wins_over_the_test() -> None:
    frames = [
        ["tests/test_cart.py", 6, "test_total"],
        ["shop/cart.py", 12, "total"],
        ["shop/pricing.py", 3, "discount"],
    ]
    [finding] = blame([_test_failure(frames, "test_total")], _atoms(), SOURCES)
    assert finding.atom_keys == ("shop/pricing.py::discount",)
    assert "Line 3 of shop/pricing.py, inside `discount`, raised the error" in finding.feedback
    assert 'raise ValueError("rate")' in finding.feedback
    # Frames outside the project (site-packages) are ignored.
    frames = [
        ["tests/test_cart.py", 6, "t"],
        ["shop/cart.py", 12, "total"],
        ["/usr/lib/x.py", 1, "f"],
    ]
    [finding] = blame([_test_failure(frames, "test_total")], _atoms(), SOURCES)
    assert finding.atom_keys == ("shop/cart.py::Cart.total",)


def test_failure_inside_the_test_goes_to_the_atom_under_test() -> None:
    atoms = _atoms()
    frames = [["tests/test_cart.py", 10, "test_with_tax"]]
    [finding] = blame([_test_failure(frames, "test_with_tax")], atoms, SOURCES)
    assert finding.atom_keys == ("shop/pricing.py::with_tax",)
    assert "exercises `with_tax`" in finding.feedback
    subject = atom_under_test(atoms, "test_cart_add_rejects_negative_price", "tests/test_cart.py")
    assert subject is not None
    assert subject.id == "shop/cart.py::Cart.add"


def test_lint_finding_maps_by_line_and_unknown_stays_unblamed() -> None:
    lint = Finding(Level.MILESTONE, Code.LINT, "F841", "unused", file="shop/cart.py", line=9)
    nowhere = Finding(Level.MILESTONE, Code.LINT, "x", "y", file="other.py", line=1)
    mapped, unmapped = blame([lint, nowhere], _atoms(), SOURCES)
    assert mapped.atom_keys == ("shop/cart.py::Cart.add",)
    assert "self.items[name] = price" in mapped.feedback
    assert unmapped.atom_keys == ()
    assert by_atom([mapped, unmapped]) == {"shop/cart.py::Cart.add": [mapped]}


def test_feedback_is_bounded_and_names_every_problem() -> None:
    huge = "\n".join(f"line {i} of a very long traceback" for i in range(5000))
    findings = [
        Finding(
            Level.TASK,
            Code.TASK_TEST_FAILED,
            "m",
            f"The test `t{i}` fails:\n{huge}",
            atom_keys=("a.py::f",),
        )
        for i in range(3)
    ]
    text = feedback_for_atom("a.py::f", findings)
    assert len(text) <= FEEDBACK_LIMIT
    assert text.startswith("Your previous code for `f` failed validation (3 problems)")
    assert all(f"t{i}" in text for i in range(3))
    assert "lines cut" in text
    assert feedback_for_atom("b.py::g", findings) == ""


def test_trim_output_keeps_head_and_tail() -> None:
    text = "\n".join(str(i) for i in range(100))
    trimmed = trim_output(text, max_lines=10)
    assert trimmed.splitlines()[0] == "0"
    assert trimmed.splitlines()[-1] == "99"
    assert "(90 lines cut)" in trimmed


def test_innermost_frame_outside_every_atom_blames_no_one() -> None:
    # e.g. an import that fails on a line of a file that does not parse: its caller is not to blame
    frames = [["shop/cart.py", 12, "total"], ["shop/pricing.py", 40, "<module>"]]
    [finding] = blame([_test_failure(frames, "")], _atoms(), SOURCES)
    assert finding.atom_keys == ()
