"""Open documents kept as lists of lines, so an incremental change costs the lines it touches
(pygls' own store rebuilds the whole text on every keystroke, which a 100,000-line file feels).

Symbol extents are found by indentation (Python's block structure), cached per document version;
that is all the language server needs to place an atom, and it keeps the engine's tree-sitter out
of this light process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lsprotocol import types

DEFINITION = re.compile(r"^([ \t]*)(?:async[ \t]+def|def|class)[ \t]+([A-Za-z_]\w*)")
CONSTANT = re.compile(r"^([A-Z_][A-Z0-9_]*)[ \t]*(?::[^=]*)?=")
IMPORT = re.compile(r"^(?:from[ \t]+\S+[ \t]+import[ \t]|import[ \t])")
DOCSTRING_START = re.compile(r"^[rRuU]?(\"\"\"|''')")
CLOSERS = ("#", ")", "]", "}")

Extent = tuple[int, int]  # first and last line (0-based, inclusive)


def utf16_to_index(line: str, units: int) -> int:
    """The code-point index in `line` of an LSP (UTF-16) character offset."""
    if line.isascii():
        return min(units, len(line))
    count = 0
    for index, char in enumerate(line):
        if count >= units:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(line)


@dataclass
class Document:
    """One open text document: its lines (with their line endings) and version."""

    uri: str
    version: int
    lines: list[str]
    _symbols: dict[str, Extent] | None = field(default=None, repr=False)
    _header: tuple[int, frozenset[str]] | None = field(default=None, repr=False)

    @classmethod
    def from_text(cls, uri: str, version: int, text: str) -> Document:
        """A document holding `text`."""
        return cls(uri=uri, version=version, lines=text.splitlines(keepends=True))

    @property
    def text(self) -> str:
        """The whole text."""
        return "".join(self.lines)

    def apply(self, change: types.TextDocumentContentChangeEvent, version: int) -> None:
        """Apply one full or incremental change from didChange."""
        self.version = version
        self._symbols = None
        self._header = None
        if isinstance(change, types.TextDocumentContentChangeWholeDocument):
            self.lines = change.text.splitlines(keepends=True)
            return
        start, end = change.range.start, change.range.end
        first, last = start.line, min(end.line, len(self.lines))
        head_line, tail_line = self._line(first), self._line(last)
        # A character past the end of a line means its end, never past its line break.
        head = head_line[: utf16_to_index(head_line.rstrip("\r\n"), start.character)]
        tail = tail_line[utf16_to_index(tail_line.rstrip("\r\n"), end.character) :]
        replaced = (head + change.text + tail).splitlines(keepends=True)
        self.lines[first : last + 1] = replaced

    def _line(self, number: int) -> str:
        return self.lines[number] if number < len(self.lines) else ""

    def header(self) -> tuple[int, frozenset[str]]:
        """`import_header` of this version."""
        if self._header is None:
            self._header = import_header(self.lines)
        return self._header

    def symbols(self) -> dict[str, Extent]:
        """Definitions (qualified `Class.method`) and top-level constants with their extents."""
        if self._symbols is None:
            self._symbols = symbol_extents(self.lines)
        return self._symbols


def symbol_extents(lines: list[str]) -> dict[str, Extent]:
    """Extents of the definitions in Python source lines, by indentation."""
    found: dict[str, Extent] = {}
    open_blocks: list[tuple[int, str, int]] = []  # indent, qualified name, first line
    last_code = -1
    for number, line in enumerate(lines):
        stripped = line.lstrip()
        if not stripped or stripped[0] in "\r\n":
            continue
        indent = len(line) - len(stripped)
        if not stripped.startswith(CLOSERS):
            while open_blocks and indent <= open_blocks[-1][0]:
                _, name, first = open_blocks.pop()
                found.setdefault(name, (first, last_code))
        match = DEFINITION.match(line)
        if match:
            qualified = ".".join([*(b[1] for b in open_blocks), match.group(2)])
            open_blocks.append((indent, qualified, _decorated_start(lines, number)))
        elif indent == 0 and (constant := CONSTANT.match(line)):
            found.setdefault(constant.group(1), (number, number))
        if not stripped.startswith("#"):  # a trailing comment belongs to what follows
            last_code = number
    for _, name, first in reversed(open_blocks):
        found.setdefault(name, (first, last_code))
    return found


def import_header(lines: list[str]) -> tuple[int, frozenset[str]]:
    """The line after the file's leading imports (with none, after its leading comments and
    docstring: a shebang, an encoding line or a licence header stays first), and those import
    lines (stripped)."""
    last = -1
    for number, line in enumerate(lines[:200]):
        if IMPORT.match(line):
            last = number
        elif line.strip() and not line.startswith(("#", '"""', "'''")) and last >= 0:
            break
    present = frozenset(line.strip() for line in lines[: last + 201] if IMPORT.match(line))
    return (last + 1 if last >= 0 else _preamble_end(lines)), present


def _preamble_end(lines: list[str]) -> int:
    """The line after the leading comment lines and the module docstring, if any."""
    end = number = 0
    while number < len(lines) and (not lines[number].strip() or lines[number].startswith("#")):
        number += 1
        end = number if lines[number - 1].strip() else end
    opened = DOCSTRING_START.match(lines[number]) if number < len(lines) else None
    if opened is None:
        return end
    quote, rest = opened.group(1), lines[number][opened.end() :]
    while quote not in rest:
        number += 1
        if number >= len(lines):
            return end  # an unterminated docstring: the file does not parse; keep to the top
        rest = lines[number]
    return number + 1


def _decorated_start(lines: list[str], number: int) -> int:
    while number > 0 and lines[number - 1].lstrip().startswith("@"):
        number -= 1
    return number


def split_imports(code: str) -> tuple[list[str], str]:
    """An atom's code as (its top-level import lines, the rest without leading blank lines)."""
    imports: list[str] = []
    rest: list[str] = []
    for line in code.splitlines(keepends=True):
        if not rest and IMPORT.match(line):
            imports.append(line if line.endswith("\n") else line + "\n")
        elif rest or line.strip():
            rest.append(line)
    body = "".join(rest)
    return imports, body if body.endswith("\n") or not body else body + "\n"


class DocumentStore:
    """The open documents by URI."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}

    def open(self, item: types.TextDocumentItem) -> Document:
        """Track a newly opened document."""
        document = Document.from_text(item.uri, item.version, item.text)
        self.documents[item.uri] = document
        return document

    def change(self, params: types.DidChangeTextDocumentParams) -> Document | None:
        """Apply didChange; unknown documents are ignored (the client never opened them)."""
        document = self.documents.get(params.text_document.uri)
        if document is not None:
            for change in params.content_changes:
                document.apply(change, params.text_document.version)
        return document

    def close(self, uri: str) -> None:
        """Forget a closed document."""
        self.documents.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        """The open document at `uri`, if any."""
        return self.documents.get(uri)
