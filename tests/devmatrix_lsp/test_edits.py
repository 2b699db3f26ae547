"""Workspace edits that put atoms into files: replace the symbol, append it, add its imports,
create the file the way the client supports."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.uris import from_fs_path

from devmatrix_lsp.atoms import AtomView
from devmatrix_lsp.documents import DocumentStore
from devmatrix_lsp.edits import EditSupport, atoms_edit
from devmatrix_lsp.placement import Placement
from tests.devmatrix_lsp.workspace_edit import apply_edit

MUL = "from calc.ops import add\n\n\ndef mul(a, b):\n    return sum(add(0, a) for _ in range(b))\n"


def _atom(name: str, code: str, file: str = "calc/mul.py") -> AtomView:
    return AtomView(id=1, key=f"{file}::{name}", file=file, qualified_name=name, code=code)


def test_replaces_exactly_the_symbol_and_adds_missing_imports(tmp_path: Path) -> None:
    path = tmp_path / "calc" / "mul.py"
    path.parent.mkdir()
    path.write_text(
        '"""mul."""\nimport os\n\n\ndef mul(a, b):\n    return a * b\n\n\ndef keep():\n    pass\n',
        encoding="utf-8",
    )
    place = Placement(tmp_path, DocumentStore())
    edit = atoms_edit(place, "calc/mul.py", [_atom("mul", MUL)], EditSupport())
    assert not edit.create_on_disk
    apply_edit(edit.edit)
    assert path.read_text(encoding="utf-8") == (
        '"""mul."""\nimport os\nfrom calc.ops import add\n\n\n'
        "def mul(a, b):\n    return sum(add(0, a) for _ in range(b))\n\n\ndef keep():\n    pass\n"
    )


def test_appends_a_symbol_the_file_lacks(tmp_path: Path) -> None:
    path = tmp_path / "calc" / "mul.py"
    path.parent.mkdir()
    path.write_text("from calc.ops import add\n\nX = 1", encoding="utf-8")
    place = Placement(tmp_path, DocumentStore())
    apply_edit(atoms_edit(place, "calc/mul.py", [_atom("mul", MUL)], EditSupport()).edit)
    assert path.read_text(encoding="utf-8") == (
        "from calc.ops import add\n\nX = 1\n\n\ndef mul(a, b):\n"
        "    return sum(add(0, a) for _ in range(b))\n"
    )


MUL_DEF = "def mul(a, b):\n    return sum(add(0, a) for _ in range(b))\n"
ADD_IMPORT = "from calc.ops import add\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # A leading comment (shebang, licence, title) stays first; the imports follow it.
        ("# calc: multiply\n\n", f"# calc: multiply\n\n{ADD_IMPORT}\n\n{MUL_DEF}"),
        (
            "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n",
            f"#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n\n{ADD_IMPORT}\n\n{MUL_DEF}",
        ),
        # So does a module docstring, one line or several.
        ('"""Multiply."""\n', f'"""Multiply."""\n\n{ADD_IMPORT}\n\n{MUL_DEF}'),
        (
            '"""Multiply.\n\nBy repeated addition.\n"""\n\nX = 1\n',
            f'"""Multiply.\n\nBy repeated addition.\n"""\n\n{ADD_IMPORT}\nX = 1\n\n\n{MUL_DEF}',
        ),
        # Code at the top: the imports go above it, two blank lines above a definition.
        ("X = 1\n", f"{ADD_IMPORT}\nX = 1\n\n\n{MUL_DEF}"),
        ("# c\n\ndef mul(a, b):\n    return a\n", f"# c\n\n{ADD_IMPORT}\n\n{MUL_DEF}"),
        # A file ending without a newline after its comment.
        ("# calc", f"# calc\n\n{ADD_IMPORT}\n\n{MUL_DEF}"),
    ],
)
def test_first_imports_go_after_leading_comments_and_docstring(
    tmp_path: Path, before: str, after: str
) -> None:
    path = tmp_path / "calc" / "mul.py"
    path.parent.mkdir()
    path.write_text(before, encoding="utf-8")
    place = Placement(tmp_path, DocumentStore())
    apply_edit(atoms_edit(place, "calc/mul.py", [_atom("mul", MUL)], EditSupport()).edit)
    assert path.read_text(encoding="utf-8") == after


def test_a_new_file_is_created_by_the_client_or_the_server(tmp_path: Path) -> None:
    place = Placement(tmp_path, DocumentStore())
    creating = atoms_edit(place, "calc/mul.py", [_atom("mul", MUL)], EditSupport(True, True))
    first = (creating.edit.document_changes or [])[0]
    assert isinstance(first, types.CreateFile)
    assert first.uri == from_fs_path(str(tmp_path / "calc" / "mul.py"))
    assert not creating.create_on_disk
    apply_edit(creating.edit)
    assert (tmp_path / "calc" / "mul.py").read_text(encoding="utf-8") == MUL

    plain = atoms_edit(place, "calc/new.py", [_atom("mul", MUL, "calc/new.py")], EditSupport())
    assert plain.create_on_disk
    assert plain.edit.changes is not None


def test_capabilities_decide_the_edit_form() -> None:
    vscode = types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=True, resource_operations=[types.ResourceOperationKind.Create]
            )
        )
    )
    assert EditSupport.of(vscode) == EditSupport(document_changes=True, create_files=True)
    assert EditSupport.of(types.ClientCapabilities()) == EditSupport()
