"""Atomize a folder (or one file): every readable source file becomes atoms, cached by content.

Bad input never stops the run: binary files, files over the size limit, unreadable folders and
files are reported per path and skipped. A file with syntax errors keeps the atoms that do not
touch an error and is reported as a warning (the rest of the file is still useful context).
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devmatrix.code.atoms import CodeAtom
from devmatrix.code.extract import FileAtoms, extract_atoms
from devmatrix.code.languages import LanguageSpec, language_for
from devmatrix.errors import DevMatrixError

# Folders that hold tools' output or other people's code, never the project's own atoms.
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "env", "node_modules", "__pycache__", ".mypy_cache",
     ".pytest_cache", ".ruff_cache", ".tox", ".nox", "dist", "build", ".eggs", "site-packages"}
)  # fmt: skip
DEFAULT_MAX_FILE_BYTES = 2_000_000
_BINARY_PROBE = 8192


class AtomizeError(DevMatrixError):
    """The path given to the atomizer cannot be atomized at all."""


@dataclass(frozen=True)
class FileProblem:
    """A file or folder that was skipped (`skipped=True`) or only partly atomized."""

    path: str
    reason: str
    skipped: bool = True


@dataclass
class AtomCache:
    """Extraction results keyed by (relative path, content hash); counts its hits and misses."""

    entries: dict[tuple[str, str], FileAtoms] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def get_or_extract(self, file: str, source: bytes, spec: LanguageSpec) -> FileAtoms:
        """The atoms of `source`, extracted once per distinct content of `file`."""
        key = (file, hashlib.blake2b(source, digest_size=16).hexdigest())
        found = self.entries.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        result = extract_atoms(file, source, spec)
        self.entries[key] = result
        return result


@dataclass(frozen=True)
class Atomization:
    """Atoms of every file that was read, the problems met, and how much was read."""

    atoms: tuple[CodeAtom, ...]
    problems: tuple[FileProblem, ...]
    files: int
    lines: int


_PROCESS_CACHE = AtomCache()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk step (reference counting still frees).

    Atomizing allocates millions of small objects that never form cycles (atoms, names, edges);
    the collector's passes over them cost about a sixth of an atomization of the stdlib.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def process_cache() -> AtomCache:
    """The in-memory cache shared by every atomization in this process."""
    return _PROCESS_CACHE


def atomize_path(
    path: Path,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    cache: AtomCache | None = None,
) -> Atomization:
    """Atomize every source file under `path` (or `path` itself); ids are relative to it."""
    if not path.exists():
        raise AtomizeError(f"{path} does not exist.", "Give a folder or a source file to atomize.")
    cache = cache if cache is not None else _PROCESS_CACHE
    with gc_paused():
        return _atomize(path, max_file_bytes, cache)


def _atomize(path: Path, max_file_bytes: int, cache: AtomCache) -> Atomization:
    root = path if path.is_dir() else path.parent
    atoms: list[CodeAtom] = []
    problems: list[FileProblem] = []
    files = lines = 0
    for file, spec in source_files(path, problems):
        relative = file.relative_to(root).as_posix()
        source = _read(file, relative, max_file_bytes, problems)
        if source is None:
            continue
        result = cache.get_or_extract(relative, source, spec)
        files += 1
        lines += result.lines
        atoms.extend(result.atoms)
        if result.error_line is not None:
            problems.append(
                FileProblem(
                    relative,
                    f"syntax error at line {result.error_line}; kept {len(result.atoms)} atoms, "
                    f"dropped {result.dropped} that touch the error",
                    skipped=False,
                )
            )
    return Atomization(tuple(atoms), tuple(problems), files, lines)


def source_files(path: Path, problems: list[FileProblem]) -> Iterator[tuple[Path, LanguageSpec]]:
    """Source files under `path` and their language, in a stable order; unreadable folders
    are recorded in `problems`."""
    if path.is_file():
        spec = language_for(path.name)
        if spec is None:
            raise AtomizeError(
                f"{path} is not a source file the atomizer reads.",
                "Give a .py, .js, .jsx, .ts or .tsx file, or a folder.",
            )
        yield path, spec
        return

    def on_error(error: OSError) -> None:
        where = Path(error.filename).relative_to(path) if error.filename else path
        problems.append(FileProblem(where.as_posix(), f"cannot read folder: {error.strerror}"))

    for folder, dirs, names in os.walk(path, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(names):
            spec = language_for(name)
            if spec is not None:
                yield Path(folder, name), spec


def _read(file: Path, relative: str, limit: int, problems: list[FileProblem]) -> bytes | None:
    """The file's bytes, or None (with a problem recorded) when it should be skipped."""
    try:
        size = file.stat().st_size
        if size > limit:
            problems.append(
                FileProblem(relative, f"{size} bytes is over the {limit}-byte limit (generated?)")
            )
            return None
        source = file.read_bytes()
    except OSError as exc:
        problems.append(FileProblem(relative, f"cannot read file: {exc.strerror}"))
        return None
    if b"\0" in source[:_BINARY_PROBE]:
        problems.append(FileProblem(relative, "binary content"))
        return None
    return source
