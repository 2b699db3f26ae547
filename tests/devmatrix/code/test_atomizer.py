"""Atomizing real files: atoms, JS/TS, bad input per file, and the content-hash cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from devmatrix.code.atomizer import AtomCache, AtomizeError, atomize_path
from devmatrix.code.atoms import CodeAtom

FIXTURES = Path(__file__).parents[2] / "fixtures"


def by_id(path: Path) -> dict[str, CodeAtom]:
    return {a.id: a for a in atomize_path(path, cache=AtomCache()).atoms}


def test_python_atoms_have_qualified_names_kinds_and_ranges() -> None:
    atoms = by_id(FIXTURES / "shop")
    order = atoms["shop/models.py::Order"]
    empty = atoms["shop/models.py::Order.empty"]
    invoice = atoms["shop/billing/invoice.py::make_invoice"]
    assert (order.kind, order.line_range) == ("class", (4, 20))
    assert (empty.kind, empty.line_range, empty.signature) == (
        "method",
        (14, 16),
        "@classmethod\n    def empty(cls):",
    )
    assert "Order.build" in empty.references  # cls.build, resolved to the own class
    assert invoice.defines == ("make_invoice", "make_invoice.line")
    assert "m.Order.empty" in invoice.references
    constants = atoms["shop/models.py::<constants>"]
    assert (constants.kind, constants.defines) == ("constants", ("TAX",))
    imports = atoms["shop/billing/invoice.py::<imports>"]
    assert {(b.local, b.module, b.symbol) for b in imports.imports} == {
        ("shop.models", "shop.models", None),
        ("m", "shop.models", None),
        ("Order", "shop", "Order"),
        ("RATE", "..models", "TAX"),
        ("ledger", ".", "ledger"),
    }


def test_javascript_and_typescript_are_atomized() -> None:
    atoms = by_id(FIXTURES / "webapp")
    kinds = {atom_id: a.kind for atom_id, a in atoms.items()}
    assert kinds == {
        "util.js::slugify": "function",
        "util.js::<constants>": "constants",
        "store.ts::<imports>": "imports",
        "store.ts::<constants>": "constants",
        "store.ts::Item": "type",
        "store.ts::Store": "class",
        "store.ts::Store.add": "method",
        "store.ts::Store.key": "method",
    }
    assert "Store.key" in atoms["store.ts::Store.add"].references  # this.key


def test_bad_files_are_reported_and_the_rest_still_atomizes(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "shop", tmp_path / "code")
    root = tmp_path / "code"
    (root / "shop" / "broken.py").write_text(
        "def broken(:\n    pass\n\n\ndef fine():\n    return 1\n"
    )
    (root / "blob.py").write_bytes(b"\x00\x01binary\x00")
    (root / "generated.py").write_text("X = 1\n" * 900_000)  # ~5 MB
    (root / "gone.py").symlink_to(root / "missing.py")  # a dangling link
    (root / "node_modules").mkdir()
    (root / "node_modules" / "dep.js").write_text("function dep() {}\n")
    result = atomize_path(root, max_file_bytes=1_000_000, cache=AtomCache())
    reasons = {p.path: p for p in result.problems}
    assert reasons["blob.py"].reason == "binary content"
    assert "over the 1000000-byte limit" in reasons["generated.py"].reason
    assert reasons["gone.py"].reason.startswith("cannot read file")
    broken = reasons["shop/broken.py"]
    assert not broken.skipped
    assert "syntax error at line 1" in broken.reason
    ids = {a.id for a in result.atoms}
    assert "shop/broken.py::fine" in ids
    assert "shop/broken.py::broken" not in ids
    assert "shop/models.py::Order.total" in ids
    assert not any(i.startswith("node_modules") for i in ids)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_unreadable_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("def f():\n    return 1\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "x.py").write_text("def g():\n    pass\n")
    locked.chmod(0)
    try:
        result = atomize_path(tmp_path, cache=AtomCache())
    finally:
        locked.chmod(0o755)
    assert [a.id for a in result.atoms] == ["ok.py::f"]
    assert result.problems[0].path == "locked"


def test_cache_hits_on_unchanged_content_and_misses_on_change(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    return 1\n")
    cache = AtomCache()
    first = atomize_path(tmp_path, cache=cache)
    second = atomize_path(tmp_path, cache=cache)
    assert (cache.hits, cache.misses) == (1, 1)
    assert second.atoms == first.atoms
    source.write_text("def f():\n    return 2\n\n\ndef g():\n    return f()\n")
    third = atomize_path(tmp_path, cache=cache)
    assert (cache.hits, cache.misses) == (1, 2)
    assert [a.qualified_name for a in third.atoms] == ["f", "g"]


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AtomizeError, match="does not exist"):
        atomize_path(tmp_path / "nope")


def test_imports_and_constants_keep_source_order(tmp_path: Path) -> None:
    # The query cursor hands captures back in an order that varies by run; a later import of
    # the same name must win, so bindings and defines are kept in source order.
    modules = [f"mod{i:02d}" for i in range(40)]
    lines = [f"import {m}" for m in modules]
    lines += ["from pkg import (" + ", ".join(f"n{i}" for i in range(12)) + ")"]
    lines += ["", *(f"C{i} = {i}" for i in range(30))]
    (tmp_path / "order.py").write_text("\n".join(lines) + "\n")
    atoms = by_id(tmp_path)
    imports = atoms["order.py::<imports>"]
    assert [b.local for b in imports.imports] == [*modules, *(f"n{i}" for i in range(12))]
    assert atoms["order.py::<constants>"].defines == tuple(f"C{i}" for i in range(30))


def test_names_that_only_bind_are_not_references(tmp_path: Path) -> None:
    # Module-level names that a function also uses as a parameter, loop target, assignment
    # target, keyword argument or attribute member: none of those is a use of the module's name.
    (tmp_path / "names.py").write_text(
        "from __future__ import annotations\n"
        "from shapes import Point as P\n"
        "from .geometry.plane import Line\n"
        "import os.path\n"
        "size = 1\n"
        "key = 2\n"
        "total = 3\n"
        "item = 4\n"
        "count = 5\n"
        "flag = False\n"
        "\n"
        "def f(size, items):\n"
        "    for item in items:\n"
        "        total = sort(items, key=item).key\n"
        "    global count, flag\n"
        "    count += 1\n"
        "    flag = True\n"
        "    match items:\n"
        "        case P(x=0):\n"
        "            return total\n"
        "        case P(x=Mode.ON) | Mode.OFF:\n"
        "            pass\n"
        "        case flag_value:\n"
        "            pass\n"
    )
    atoms = by_id(tmp_path)
    f = atoms["names.py::f"]
    # Read as values: `items`, `sort`, `item` (after the loop binds it), `total` (in the return),
    # `count` and `flag` (declared global), `P` (class pattern), `Mode.ON` and `Mode.OFF` (value
    # patterns). Not `size` (a parameter only), `key` (a keyword name, then a member) nor
    # `flag_value` (a capture pattern binds it).
    assert set(f.references) == {
        "items", "sort", "item", "total", "count", "flag", "P", "Mode.ON", "Mode.OFF",
    }  # fmt: skip
    imports = atoms["names.py::<imports>"]
    # An import's module, imported name and local alias are what the imports block uses; a
    # relative module's parts (`geometry`) and a __future__ feature are no names of this module.
    assert set(imports.references) == {"shapes", "Point", "P", "Line", "os.path"}


SCRIPT_NAMES = (
    "import Base, { slug as s } from './util';\n"
    "let current = null;\n"
    "export function render(item, size = DEFAULT) {\n"
    "  const parts = s(item.name).split(SEP);\n"
    "  for (const part of parts) { draw(part); }\n"
    "  current = item;\n"
    "  total += size;\n"
    "  return <Card.Body value={{ parts, key: VALUE }}><Icon /></Card.Body>;\n"
    "}\n"
    "export { render as show, current };\n"
)


def test_javascript_and_typescript_references_leave_binding_names_out(tmp_path: Path) -> None:
    (tmp_path / "app.jsx").write_text(SCRIPT_NAMES)
    (tmp_path / "view.tsx").write_text(SCRIPT_NAMES)
    (tmp_path / "model.ts").write_text(
        "@Entity('t') export class Model extends Base<Row> {\n"
        "  load(id: Key, other: typeof fallback): ns.Shape { return fetchRow(id, LIMIT); }\n"
        "  save(row: db.tables.Row, options: typeof defaults.save): void {}\n"
        "}\n"
    )
    atoms = by_id(tmp_path)
    # Names read, and the module's `current` and `total` that are assigned (assigning never
    # declares), JSX tags and the shorthand `parts`; no declaration (`render`, the parameters,
    # `const parts`, `const part`) and no property name (`key`, `name`) counts on its own.
    expected = {
        "s", "item", "item.name", "SEP", "parts", "draw", "part", "current", "total", "size",
        "Card.Body", "Icon", "VALUE", "DEFAULT",
    }  # fmt: skip
    assert set(atoms["app.jsx::render"].references) == expected
    assert set(atoms["view.tsx::render"].references) == expected
    assert {"Base", "s", "slug"} <= set(atoms["app.jsx::<imports>"].references)
    model = atoms["model.ts::Model.load"]
    # Types are references; `other` is only declared.
    assert set(model.references) == {"Key", "fallback", "ns.Shape", "fetchRow", "id", "LIMIT"}
    # A qualified type or `typeof` of a chain is one name, from its head.
    assert set(atoms["model.ts::Model.save"].references) == {"db.tables.Row", "defaults.save"}
    assert {"Entity", "Base", "Row", "Model"} <= set(atoms["model.ts::Model"].references)


def test_destructuring_into_existing_variables_references_them(tmp_path: Path) -> None:
    source = (
        "let first, rest, size, mode, item;\n"
        "export function unpack(pair, options) {\n"
        "  [first, ...rest] = pair;\n"
        "  ({ size, kind: mode = DEFAULT } = options);\n"
        "  for (item of pair) {}\n"
        "  const [local, other] = pair;\n"
        "  for (const each of pair) {}\n"
        "  return Math.max(local, other, ...SIZES);\n"
        "}\n"
    )
    for name in ("assign.js", "assign.ts"):
        (tmp_path / name).write_text(source)
    atoms = by_id(tmp_path)
    # The module's variables assigned through a pattern or a bare for-of loop are used, and a
    # spread name; names a `const` declares (`local`, `other`, `each`) and property keys
    # (`kind`) are not.
    expected = {
        "first", "rest", "pair", "size", "mode", "DEFAULT", "options", "item", "local", "other",
        "Math.max", "SIZES",
    }  # fmt: skip
    for name in ("assign.js", "assign.ts"):
        assert set(atoms[f"{name}::unpack"].references) == expected
