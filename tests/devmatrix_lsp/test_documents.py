"""The line-based document store and the symbol extents the language server places atoms with."""

from __future__ import annotations

from lsprotocol import types

from devmatrix_lsp.documents import Document, split_imports, symbol_extents


def change(
    line: int, char: int, end_line: int, end_char: int, text: str
) -> types.TextDocumentContentChangePartial:
    """An incremental change."""
    return types.TextDocumentContentChangePartial(
        range=types.Range(
            start=types.Position(line=line, character=char),
            end=types.Position(line=end_line, character=end_char),
        ),
        text=text,
    )


def test_incremental_changes_count_utf16_units() -> None:
    document = Document.from_text("file:///a.py", 1, "a😀b\nsecond\n")
    document.apply(change(0, 3, 0, 4, "X"), 2)  # 😀 is two UTF-16 units
    assert document.text == "a😀X\nsecond\n"
    document.apply(change(0, 1, 1, 3, ""), 3)
    assert document.text == "aond\n"
    assert document.version == 3


def test_changes_at_the_end_and_past_a_line_end() -> None:
    document = Document.from_text("file:///a.py", 1, "one\ntwo")
    document.apply(change(1, 3, 1, 3, "\nthree\n"), 2)
    assert document.text == "one\ntwo\nthree\n"
    document.apply(change(3, 0, 3, 0, "four"), 3)
    assert document.text == "one\ntwo\nthree\nfour"
    document.apply(change(0, 99, 0, 99, "!"), 4)  # past the end of the line: its end, not the next
    assert document.text == "one!\ntwo\nthree\nfour"
    document.apply(types.TextDocumentContentChangeWholeDocument(text="new\n"), 5)
    assert document.lines == ["new\n"]


def test_symbol_extents_follow_indentation_and_decorators() -> None:
    source = (
        "import os\n"
        "LIMIT = 3\n"
        "\n"
        "@cache\n"
        "def add(a, b):\n"
        "    return (a +\n"
        ")\n"
        "\n"
        "class Box:\n"
        "    def get(self):\n"
        "        return 1\n"
        "\n"
        "    async def put(self):\n"
        "        pass\n"
        "# trailing comment\n"
    )
    found = symbol_extents(source.splitlines(keepends=True))
    assert found["LIMIT"] == (1, 1)
    assert found["add"] == (3, 6)
    assert found["Box"] == (8, 13)
    assert found["Box.get"] == (9, 10)
    assert found["Box.put"] == (12, 13)


def test_split_imports() -> None:
    imports, body = split_imports(
        "from calc.ops import add\nimport os\n\n\ndef mul(a, b):\n    return 0"
    )
    assert imports == ["from calc.ops import add\n", "import os\n"]
    assert body == "def mul(a, b):\n    return 0\n"
