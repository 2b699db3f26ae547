"""The languages the atomizer reads: grammar, file extensions and compiled query files.

Everything a language knows about itself lives in the query files of its layers
(`queries/<layer>*.scm`); this module only loads them, once per process.
"""

from __future__ import annotations

import posixpath
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_typescript
from tree_sitter import Language, Parser, Query

# Definitions sit near the root: a class method is at depth 3 in Python (module > class > block >
# function) and 4 in JavaScript (program > export > class > body > method). Starting structural
# patterns only this deep keeps the pass cheap on big files. Statement patterns all start at the
# root (depth 0), so their pass stops even sooner.
STRUCTURE_DEPTH = 5

# A syntax error is the same node in every grammar.
ERROR_QUERY = "(ERROR) @error (MISSING) @error"


@dataclass(frozen=True)
class LanguageSpec:
    """One language: its name (the query file stem), grammar and source file extensions."""

    name: str
    extensions: tuple[str, ...]
    grammar: Callable[[], object]
    # Stems that stand for their folder (`pkg/__init__.py` is module `pkg`).
    package_stems: tuple[str, ...]
    # Stems of the query files, read in this order and joined, per kind: a grammar that extends
    # another reads the shared layer first (TSX is ECMAScript + TypeScript + JSX). A layer may lack
    # a kind (`jsx-imports.scm`); each kind needs at least one file.
    query_layers: tuple[str, ...] = ()


LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        "python", (".py", ".pyi"), tree_sitter_python.language, ("__init__",), ("python",)
    ),
    LanguageSpec(
        "javascript",
        (".js", ".jsx", ".mjs", ".cjs"),
        tree_sitter_javascript.language,
        ("index",),
        ("ecmascript", "javascript", "jsx"),
    ),
    LanguageSpec(
        "typescript",
        (".ts", ".mts", ".cts"),
        tree_sitter_typescript.language_typescript,
        ("index",),
        ("ecmascript", "typescript"),
    ),
    LanguageSpec(
        "tsx",
        (".tsx",),
        tree_sitter_typescript.language_tsx,
        ("index",),
        ("ecmascript", "typescript", "jsx"),
    ),
)

_BY_EXTENSION = {ext: spec for spec in LANGUAGES for ext in spec.extensions}
SOURCE_EXTENSIONS: tuple[str, ...] = tuple(_BY_EXTENSION)
PACKAGE_STEMS: frozenset[str] = frozenset(s for spec in LANGUAGES for s in spec.package_stems)


@dataclass(frozen=True)
class CompiledLanguage:
    """Grammar and compiled queries of one language."""

    spec: LanguageSpec
    language: Language
    structure: Query
    statements: Query
    references: Query
    imports: Query
    errors: Query
    receivers: frozenset[str]
    # Each receiver with the bounds of the names it starts (`self`, `self.`, `self/`).
    receiver_bounds: tuple[tuple[str, str, str], ...]
    # Functions whose name matches are tests (`#set! tests` in the structure query).
    tests: re.Pattern[str] | None


def language_for(path: str) -> LanguageSpec | None:
    """The language of a file by its extension, or None when the atomizer does not read it."""
    # splitext, not PurePosixPath: this runs on every file name of a walked folder.
    return _BY_EXTENSION.get(posixpath.splitext(path)[1].lower())


def _queries(spec: LanguageSpec, kind: str = "") -> str:
    """The queries of `kind` ("" for definitions) for `spec`: its layers' files, in order."""
    folder = resources.files("devmatrix.code").joinpath("queries")
    suffix = f"-{kind}" if kind else ""
    files = [folder.joinpath(f"{stem}{suffix}.scm") for stem in spec.query_layers]
    texts = [file.read_text("utf-8") for file in files if file.is_file()]
    if not texts:
        raise FileNotFoundError(f"no {kind or 'definitions'} query file for {spec.name}")
    return "\n".join(texts)


@cache
def compiled(spec: LanguageSpec) -> CompiledLanguage:
    """Compile the grammar and query files of `spec` (once per process)."""
    language = Language(spec.grammar())
    structure = Query(language, _queries(spec))
    statements = Query(language, _queries(spec, "statements"))
    receivers: set[str] = set()
    tests: re.Pattern[str] | None = None
    for index in range(statements.pattern_count):
        settings = statements.pattern_settings(index)
        words = settings.get("receivers")
        if words:
            receivers.update(words.split())
        test_names = settings.get("tests")
        if test_names:
            tests = re.compile(test_names)
    return CompiledLanguage(
        spec=spec,
        language=language,
        structure=structure,
        statements=statements,
        references=Query(language, _queries(spec, "references")),
        imports=Query(language, _queries(spec, "imports")),
        errors=Query(language, ERROR_QUERY),
        receivers=frozenset(receivers),
        receiver_bounds=tuple((word, f"{word}.", f"{word}/") for word in sorted(receivers)),
        tests=tests,
    )


_THREAD = threading.local()


def parser_for(spec: LanguageSpec) -> Parser:
    """A parser for `spec`, reused across files; one per thread, since parsers are not
    thread-safe and the engine checks atoms from worker threads."""
    parsers: dict[LanguageSpec, Parser] = _THREAD.__dict__.setdefault("parsers", {})
    if spec not in parsers:
        parsers[spec] = Parser(compiled(spec).language)
    return parsers[spec]
