"""Placing generated atoms into their files, in a stable order, and knowing each atom's lines.

A file is its import block (every atom's imports, hoisted and deduplicated, `__future__` first),
then constants blocks, then the other atoms in plan order, each method indented into its class.
Answers are split into imports and definition by parsing them with tree-sitter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from devmatrix.code.extract import extract_atoms
from devmatrix.code.languages import language_for

INDENT = "    "


@dataclass(frozen=True)
class PlacedAtom:
    """An atom's place in its file and its current code (as generated, imports included)."""

    key: str
    qualified_name: str
    kind: str
    position: int
    code: str


@dataclass(frozen=True)
class AssembledFile:
    """A file's text and the 1-based inclusive line range of each atom in it."""

    text: str
    ranges: Mapping[str, tuple[int, int]]


def split_answer(file: str, code: str) -> tuple[list[str], str]:
    """The import statements of a generated answer, and the rest (the definition itself)."""
    spec = language_for(file)
    if spec is None:
        return [], code.strip("\n")
    source = code.encode()
    parsed = extract_atoms(file, source, spec)
    if parsed.error_line is not None:
        return [], code.strip("\n")  # L1 reports the syntax error on the code as written
    blocks = [a for a in parsed.atoms if a.kind == "imports"]
    imports: list[str] = []
    rest = bytearray()
    cursor = 0
    for block in blocks:
        imports.extend(_statements(source[block.start_byte : block.end_byte].decode()))
        rest += source[cursor : block.start_byte]
        cursor = block.end_byte
    rest += source[cursor:]
    return imports, textwrap.dedent(rest.decode()).strip("\n")


def _statements(block: str) -> list[str]:
    """One entry per import statement of a block (parenthesised imports stay whole)."""
    statements: list[str] = []
    current: list[str] = []
    depth = 0
    for line in block.splitlines():
        if not line.strip() and depth == 0:
            continue
        current.append(line.strip() if depth == 0 else line.rstrip())
        depth += line.count("(") - line.count(")")
        if depth <= 0 and not line.rstrip().endswith("\\"):
            statements.append("\n".join(current))
            current, depth = [], 0
    if current:
        statements.append("\n".join(current))
    return statements


def assemble_file(
    file: str, atoms: Sequence[PlacedAtom], first_party: frozenset[str] = frozenset()
) -> AssembledFile:
    """The file made of `atoms` that have code; methods go inside their class when it is there.

    `first_party` names the project's own top-level packages, for grouping the imports.
    """
    imports: list[str] = []
    bodies: dict[str, str] = {}
    for atom in atoms:
        if not atom.code.strip():
            continue
        found, rest = split_answer(file, atom.code)
        imports.extend(found)
        bodies[atom.key] = rest
    pieces: list[tuple[str | None, str]] = []  # (atom key or None, text); joined by blank lines
    import_block = _import_block(imports, first_party)
    if import_block:
        pieces.append((None, import_block))
    for atom in _ordered(atoms, bodies):
        text = bodies[atom.key]
        if atom.kind == "method":
            text = textwrap.indent(textwrap.dedent(text), INDENT)
        pieces.append((atom.key, text))
    return _join(pieces, atoms)


def _import_block(imports: Sequence[str], first_party: frozenset[str]) -> str:
    unique = list(dict.fromkeys(imports))
    future = [s for s in unique if s.startswith("from __future__")]
    block = "\n".join(future + [s for s in unique if s not in future])
    return sort_imports(block, first_party) if block else block


@lru_cache(maxsize=4096)
def sort_imports(block: str, first_party: frozenset[str] = frozenset()) -> str:
    """An import block sorted and grouped as ruff's isort rules want it (stdlib, third party,
    first party), so generated files pass lint; unchanged when ruff is not installed."""
    ruff = shutil.which(
        "ruff", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if ruff is None:
        return block
    known = ",".join(f'"{name}"' for name in sorted(first_party))
    done = subprocess.run(
        [
            ruff,
            "check",
            "--isolated",
            "--select",
            "I",
            "--fix-only",
            "--quiet",
            "--config",
            f"lint.isort.known-first-party=[{known}]",
            "--stdin-filename",
            "imports.py",
            "-",
        ],
        input=block + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout.strip("\n") if done.returncode == 0 and done.stdout.strip() else block


def _ordered(atoms: Sequence[PlacedAtom], bodies: Mapping[str, str]) -> list[PlacedAtom]:
    present = sorted((a for a in atoms if a.key in bodies), key=lambda a: a.position)
    classes = {a.qualified_name for a in present if a.kind == "class"}
    methods: dict[str, list[PlacedAtom]] = {}
    top: list[PlacedAtom] = []
    for atom in present:
        owner = atom.qualified_name.rpartition(".")[0]
        if atom.kind == "method" and owner in classes:
            methods.setdefault(owner, []).append(atom)
        elif atom.kind != "method":
            top.append(atom)  # a method whose class has no code yet cannot be placed
    top.sort(key=lambda a: (a.kind != "constants", a.position))
    ordered: list[PlacedAtom] = []
    for atom in top:
        ordered.append(atom)
        ordered.extend(methods.get(atom.qualified_name, []))
    return ordered


def _blank_lines(previous: str | None, kind: str | None) -> int:
    """PEP 8 and isort spacing: one blank line before a method, or after the imports when
    plain statements follow; two around other top-level definitions."""
    if kind == "method" and previous in ("class", "method"):
        return 1
    if previous == "imports" and kind == "constants":
        return 1
    return 2


def _join(pieces: list[tuple[str | None, str]], atoms: Sequence[PlacedAtom]) -> AssembledFile:
    kinds = {a.key: a.kind for a in atoms}
    lines: list[str] = []
    ranges: dict[str, tuple[int, int]] = {}
    previous_kind: str | None = None
    for key, text in pieces:
        kind = kinds.get(key) if key else "imports"
        if lines:
            lines.extend([""] * _blank_lines(previous_kind, kind))
        start = len(lines) + 1
        lines.extend(text.splitlines())
        if key is not None:
            ranges[key] = (start, len(lines))
        previous_kind = kind
    return AssembledFile("\n".join(lines) + "\n" if lines else "", ranges)
