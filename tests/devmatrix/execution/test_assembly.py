"""Placing atoms into files: imports hoisted, stable order, methods in their class, line ranges."""

from __future__ import annotations

import ast

from devmatrix.execution.assembly import PlacedAtom, assemble_file, split_answer


def test_split_answer_separates_imports_from_the_definition() -> None:
    imports, rest = split_answer(
        "m.py", "import os\nfrom x import (\n    a,\n    b,\n)\n\n\ndef f():\n    return os.sep\n"
    )
    assert imports == ["import os", "from x import (\n    a,\n    b,\n)"]
    assert rest == "def f():\n    return os.sep"


def test_file_order_is_stable_and_ranges_point_at_each_atom() -> None:
    atoms = [
        PlacedAtom("m.py::f", "f", "function", 3, "import os\n\ndef f(a):\n    return os.sep * a"),
        PlacedAtom("m.py::A.m", "A.m", "method", 2, "def m(self) -> int:\n    return MAX"),
        PlacedAtom("m.py::A", "A", "class", 1, 'class A:\n    """An A."""'),
        PlacedAtom("m.py::<constants>", "<constants>", "constants", 9, "MAX = 3"),
        PlacedAtom("m.py::g", "g", "function", 4, ""),  # not generated yet: left out
    ]
    result = assemble_file("m.py", atoms)
    tree = ast.parse(result.text)  # the assembled file is valid Python
    assert [type(node).__name__ for node in tree.body] == [
        "Import",
        "Assign",
        "ClassDef",
        "FunctionDef",
    ]
    lines = result.text.splitlines()
    start, end = result.ranges["m.py::A.m"]
    assert lines[start - 1] == "    def m(self) -> int:"
    assert lines[end - 1] == "        return MAX"
    start, end = result.ranges["m.py::f"]
    assert lines[start - 1 : end] == ["def f(a):", "    return os.sep * a"]
    assert "m.py::g" not in result.ranges
    # The same atoms in another order give the same file.
    assert assemble_file("m.py", list(reversed(atoms))).text == result.text


def test_duplicate_imports_are_kept_once_and_future_imports_first() -> None:
    atoms = [
        PlacedAtom("m.py::a", "a", "function", 1, "import os\n\ndef a():\n    return os"),
        PlacedAtom(
            "m.py::b",
            "b",
            "function",
            2,
            "from __future__ import annotations\nimport os\n\ndef b():\n    return os",
        ),
    ]
    text = assemble_file("m.py", atoms).text
    assert text.startswith("from __future__ import annotations\n\nimport os\n")
    assert text.count("import os") == 1


def test_a_method_without_its_class_is_not_placed() -> None:
    atoms = [PlacedAtom("m.py::A.m", "A.m", "method", 1, "def m(self):\n    return 1")]
    assert assemble_file("m.py", atoms).text == ""


def test_imports_are_grouped_and_sorted_as_lint_wants() -> None:
    atoms = [
        PlacedAtom(
            "pkg/m.py::a",
            "a",
            "function",
            1,
            "from pkg.models import Task\nimport json\n\ndef a():\n    return json, Task",
        ),
        PlacedAtom(
            "pkg/m.py::b",
            "b",
            "function",
            2,
            "import pytest\nfrom dataclasses import field\nfrom dataclasses import dataclass"
            "\n\ndef b():\n    return pytest, field, dataclass",
        ),
    ]
    text = assemble_file("pkg/m.py", atoms, frozenset({"pkg"})).text
    assert text.startswith(
        "import json\nfrom dataclasses import dataclass, field\n\nimport pytest\n\n"
        "from pkg.models import Task\n"
    )
