"""Where an atom is in the user's workspace: the file (relative to the workspace root) and the
symbol's lines in it, from the open document or the file on disk (cached by modification time)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from devmatrix_lsp.atoms import AtomView
from devmatrix_lsp.documents import DocumentStore, Extent, import_header, symbol_extents


class OutsideWorkspace(ValueError):
    """A path that would leave the workspace root."""


class Placement:
    """Maps atoms to workspace URIs and ranges."""

    def __init__(self, root: Path | None, documents: DocumentStore) -> None:
        self.root = root
        self.documents = documents
        self._disk: dict[Path, tuple[int, int, list[str], dict[str, Extent]]] = {}
        self._uris: dict[str, str] = {}
        self._relative: dict[str, str | None] = {}

    def path(self, file: str) -> Path:
        """The absolute path of a workspace-relative file; refuses anything outside the root."""
        relative = PurePosixPath(file)
        if relative.is_absolute() or ".." in relative.parts or self.root is None:
            raise OutsideWorkspace(f"{file!r} is not a path inside the workspace.")
        return self.root.joinpath(*relative.parts)

    def uri(self, file: str) -> str:
        """The URI of a workspace-relative file."""
        uri = self._uris.get(file)
        if uri is None:
            uri = self._uris[file] = from_fs_path(str(self.path(file))) or ""
        return uri

    def relative(self, uri: str) -> str | None:
        """The workspace-relative path of a URI, or None when it is outside the workspace."""
        if uri not in self._relative:
            self._relative[uri] = self._relative_path(uri)
        return self._relative[uri]

    def _relative_path(self, uri: str) -> str | None:
        path = to_fs_path(uri)
        if path is None or self.root is None:
            return None
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None

    def lines(self, file: str) -> list[str] | None:
        """The file's lines: the open document's, else the disk's; None when it does not exist."""
        document = self.documents.get(self.uri(file))
        if document is not None:
            return document.lines
        return self._from_disk(file)[0]

    def symbols(self, file: str) -> dict[str, Extent]:
        """The file's definitions with their extents."""
        document = self.documents.get(self.uri(file))
        if document is not None:
            return document.symbols()
        return self._from_disk(file)[1]

    def header(self, file: str) -> tuple[int, frozenset[str]]:
        """Where the file's leading imports end, and which imports it has."""
        document = self.documents.get(self.uri(file))
        if document is not None:
            return document.header()
        return import_header(self.lines(file) or [])

    def extent(self, atom: AtomView) -> Extent | None:
        """The atom's symbol lines in the workspace file, when the symbol is there."""
        return self.symbols(atom.file).get(atom.qualified_name)

    def range(self, atom: AtomView) -> types.Range:
        """Where to show the atom: its symbol, else the backend's lines, else the file's start."""
        return self.ranges(atom.file, [atom])[0]

    def ranges(self, file: str, atoms: list[AtomView]) -> list[types.Range]:
        """`range` of each atom of one file, reading the file's lines and symbols once."""
        return [
            types.Range(
                start=types.Position(line=first, character=0),
                end=types.Position(line=last, character=width),
            )
            for first, last, width in self.spans(file, atoms)
        ]

    def lines_of(self, file: str, atoms: list[AtomView]) -> list[Extent]:
        """(first line, last line) of each atom: `ranges` without the objects, for the hot path
        of code actions."""
        symbols = self.symbols(file)
        found = []
        for atom in atoms:
            extent = symbols.get(atom.qualified_name)
            if extent is None and atom.start_line:
                extent = (atom.start_line - 1, (atom.end_line or atom.start_line) - 1)
            found.append(extent or (0, 0))
        return found

    def spans(self, file: str, atoms: list[AtomView]) -> list[tuple[int, int, int]]:
        """(first line, last line, last line's width in UTF-16 units) of each atom."""
        lines = self.lines(file) or []
        found = []
        for first, last in self.lines_of(file, atoms):
            end_text = lines[last].rstrip("\r\n") if last < len(lines) else ""
            width = len(end_text) if end_text.isascii() else len(end_text.encode("utf-16-le")) // 2
            found.append((first, last, width))
        return found

    def _from_disk(self, file: str) -> tuple[list[str] | None, dict[str, Extent]]:
        path = self.path(file)
        try:
            stat = path.stat()
        except OSError:
            self._disk.pop(path, None)
            return None, {}
        cached = self._disk.get(path)
        if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
            return cached[2], cached[3]
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        except OSError:
            return None, {}
        symbols = symbol_extents(lines)
        self._disk[path] = (stat.st_mtime_ns, stat.st_size, lines, symbols)
        return lines, symbols
