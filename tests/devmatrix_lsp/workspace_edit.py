"""The client side of workspace edits for the tests: applies a WorkspaceEdit to files on disk as
an editor does (text edits by range, CreateFile), so tests can assert the resulting text."""

from __future__ import annotations

import itertools
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path


def apply_edit(edit: types.WorkspaceEdit) -> list[Path]:
    """Apply `edit` to the files it names; returns the paths touched."""
    touched: list[Path] = []
    for uri, edits in (edit.changes or {}).items():
        touched.append(_apply_text_edits(uri, list(edits)))
    for change in edit.document_changes or []:
        if isinstance(change, types.CreateFile):
            path = Path(to_fs_path(change.uri) or "")
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text("", encoding="utf-8")
            touched.append(path)
        elif isinstance(change, types.TextDocumentEdit):
            edits = [e for e in change.edits if isinstance(e, types.TextEdit)]
            touched.append(_apply_text_edits(change.text_document.uri, edits))
        else:
            raise AssertionError(f"unexpected document change {change!r}")
    return touched


def _apply_text_edits(uri: str, edits: list[types.TextEdit]) -> Path:
    path = Path(to_fs_path(uri) or "")
    if not path.exists():
        raise AssertionError(f"an edit of {path}, which does not exist (no CreateFile before it)")
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)

    def offset(position: types.Position) -> int:
        return sum(map(len, lines[: position.line])) + position.character

    spans = sorted((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits)
    for (_, end, _), (start, _, _) in itertools.pairwise(spans):
        assert end <= start, "overlapping text edits"
    for start, end, new_text in reversed(spans):
        text = text[:start] + new_text + text[end:]
    path.write_text(text, encoding="utf-8")
    return path
