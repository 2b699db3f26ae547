"""WorkspaceEdits that put atoms' code into the user's files: replace the symbol when the file has
it, append it otherwise, add the imports it needs, and create files that do not exist yet."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsprotocol import types

from devmatrix_lsp.atoms import AtomView
from devmatrix_lsp.documents import split_imports
from devmatrix_lsp.placement import Placement

DEFINITION = re.compile(r"^(?:@|def\s|class\s|async\s+def\s)")


class NoCode(ValueError):
    """The atom has no generated code yet."""


@dataclass(frozen=True)
class EditSupport:
    """What the client's applyEdit understands."""

    document_changes: bool = False
    create_files: bool = False

    @classmethod
    def of(cls, capabilities: types.ClientCapabilities | None) -> EditSupport:
        """Read `workspace.workspaceEdit` of the client's capabilities."""
        workspace = capabilities.workspace if capabilities else None
        edit = workspace.workspace_edit if workspace else None
        if edit is None:
            return cls()
        operations = edit.resource_operations or []
        create = types.ResourceOperationKind.Create in operations
        # Resource operations exist only inside documentChanges, so declaring them implies it.
        return cls(document_changes=bool(edit.document_changes) or create, create_files=create)


@dataclass
class FileEdit:
    """The edit for one file, and whether the server must create the (empty) file first."""

    edit: types.WorkspaceEdit
    uri: str
    create_on_disk: bool


def atoms_edit(
    place: Placement, file: str, atoms: list[AtomView], support: EditSupport
) -> FileEdit:
    """One edit putting every atom of `atoms` (all in `file`) into the workspace file."""
    for atom in atoms:
        if not atom.code:
            raise NoCode(f"{atom.qualified_name} has no generated code yet; run the plan first.")
    uri = place.uri(file)
    lines = place.lines(file)
    if lines is None or not any(line.strip() for line in lines):
        text = _new_file_text(sorted(atoms, key=lambda a: a.start_line or 0))
        end = (len(lines) - 1, len(lines[-1])) if lines else (0, 0)
        edits = [_edit(0, 0, *end, text)]
    else:
        edits = _in_place(place, file, lines, atoms)
    document = place.documents.get(uri)
    version = document.version if document is not None else None
    if not support.document_changes:
        return FileEdit(types.WorkspaceEdit(changes={uri: edits}), uri, lines is None)
    operations: list[types.TextDocumentEdit | types.CreateFile] = []
    # Also for a buffer the editor has open but never saved: its folder may not exist yet.
    if support.create_files and (lines is None or not place.path(file).exists()):
        operations.append(
            types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True))
        )
    operations.append(
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
            edits=list(edits),
        )
    )
    return FileEdit(
        types.WorkspaceEdit(document_changes=operations),
        uri,
        lines is None and not support.create_files,
    )


def _new_file_text(atoms: list[AtomView]) -> str:
    imports: list[str] = []
    bodies: list[str] = []
    for atom in atoms:
        needed, body = split_imports(atom.code or "")
        imports.extend(i for i in needed if i not in imports)
        bodies.append(body)
    head = "".join(imports) + ("\n\n" if imports else "")
    return head + "\n\n".join(bodies)


def _in_place(
    place: Placement, file: str, lines: list[str], atoms: list[AtomView]
) -> list[types.TextEdit]:
    at, present = place.header(file)
    before, after = "", ""
    if not present:
        at, before, after = _first_imports_slot(lines, at)
    imports: list[str] = []
    replaced: list[tuple[int, int, str]] = []
    appended: list[str] = []
    for atom in atoms:
        needed, body = split_imports(atom.code or "")
        imports.extend(i for i in needed if i.strip() not in present and i not in imports)
        extent = place.symbols(atom.file).get(atom.qualified_name)
        if extent is None:
            appended.append(body)
        else:
            replaced.append((extent[0], extent[1], body))
    edits: list[types.TextEdit] = []
    import_text = "".join(imports)
    for first, last, body in sorted(replaced):
        if import_text and first <= at:  # never two edits at one position
            body, import_text = import_text + "\n\n" + body, ""
        edits.append(_replace_lines(lines, first, last, body))
    if import_text:
        import_text = before + import_text + after
        if appended and at >= len(lines):  # both at the end of the file: one edit, in order
            import_text = import_text.rstrip("\n") + "\n\n\n" + "\n\n".join(appended)
            appended = []
        edits.append(_insert(lines, at, import_text))
    if appended:
        edits.append(_append(lines, appended))
    return edits


def _first_imports_slot(lines: list[str], at: int) -> tuple[int, str, str]:
    """Where a file's first imports go and what sets them apart: after a leading comment or
    docstring and the blank lines below it (one blank line when there are none), and before the
    code, two blank lines above a definition and one above anything else."""
    below = at
    while below < len(lines) and not lines[below].strip():
        below += 1
    before = "\n" if below == at and at > 0 else ""
    after = "" if below >= len(lines) else "\n\n" if DEFINITION.match(lines[below]) else "\n"
    return below, before, after


def _insert(lines: list[str], at: int, text: str) -> types.TextEdit:
    """Insert `text` at the start of line `at`; past the end of a file whose last line has no
    newline, after a newline that ends that line."""
    if at >= len(lines) and lines and not lines[-1].endswith("\n"):
        end = len(lines) - 1
        return _edit(end, len(lines[end]), end, len(lines[end]), "\n" + text)
    return _edit(at, 0, at, 0, text)


def _replace_lines(lines: list[str], first: int, last: int, body: str) -> types.TextEdit:
    if last + 1 < len(lines) or lines[last].endswith("\n"):
        return _edit(first, 0, last + 1, 0, body)
    return _edit(first, 0, last, len(lines[last]), body.rstrip("\n"))


def _append(lines: list[str], bodies: list[str]) -> types.TextEdit:
    text = "\n\n".join(bodies)
    if not lines:
        return _edit(0, 0, 0, 0, text)
    last = lines[-1]
    if last.endswith("\n"):
        return _edit(len(lines), 0, len(lines), 0, "\n\n" + text)
    return _edit(len(lines) - 1, len(last), len(lines) - 1, len(last), "\n\n\n" + text)


def _edit(line: int, char: int, end_line: int, end_char: int, text: str) -> types.TextEdit:
    return types.TextEdit(
        range=types.Range(
            start=types.Position(line=line, character=char),
            end=types.Position(line=end_line, character=end_char),
        ),
        new_text=text,
    )
