"""Where a symbol an atom uses comes from: another planned atom, the existing workspace, the
standard library, builtins or a declared third-party package.

Names are matched as the model writes them: local (`helper`, `Todo.save`), qualified
(`app.models.Todo`), a qualified tail (`models.Todo`), or `self.x` / `cls.x` inside a method.
"""

from __future__ import annotations

import builtins
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

_BUILTINS = frozenset(dir(builtins))


def module_of(file: str) -> str:
    """The dotted module a file defines: `src/app/models.py` -> `app.models`."""
    parts = list(PurePosixPath(file).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if parts and parts[0] == "src":
        parts.pop(0)
    return ".".join(parts)


def atom_key(file: str, qualified_name: str) -> str:
    """The stable key of the atom defining `qualified_name` in `file`."""
    return f"{file}::{qualified_name}"


def import_root(package: str) -> str:
    """The import name of a declared package: `Flask-Login>=0.6` -> `flask_login`."""
    name = package.strip()
    for stop in "<>=!~[; ":
        name = name.split(stop, 1)[0]
    return name.lower().replace("-", "_")


@dataclass(frozen=True)
class Resolution:
    """What a used symbol resolved to: an atom key, an outside source, or a problem."""

    atom: str | None = None
    source: str | None = None  # workspace, stdlib, builtin, dependency, module, attribute
    problem: str | None = None


class SymbolTable:
    """The symbols known to a plan; add atoms as they are planned, then resolve uses."""

    def __init__(self, workspace: Iterable[str] = (), dependencies: Iterable[str] = ()) -> None:
        self.defined: dict[str, str] = {}  # full dotted name -> atom key
        self.local: dict[str, dict[str, str]] = defaultdict(dict)  # file -> qualified name -> key
        self.by_last: dict[str, set[str]] = defaultdict(set)  # last name part -> full names
        self.modules: set[str] = set()
        self.workspace = set(workspace)
        self.workspace_by_last: dict[str, set[str]] = defaultdict(set)
        for name in self.workspace:
            self.workspace_by_last[name.rpartition(".")[2]].add(name)
            self.modules.add(name.rpartition(".")[0])
        self.dependencies = {import_root(d) for d in dependencies if d.strip()}

    def copy(self) -> SymbolTable:
        """An independent table with the same symbols (to try a task's atoms before keeping them)."""
        copy = SymbolTable(dependencies=())
        copy.workspace, copy.workspace_by_last = self.workspace, self.workspace_by_last
        copy.dependencies = self.dependencies
        copy.modules = set(self.modules)
        for file, names in self.local.items():
            for qualified_name in names:
                copy.add(file, qualified_name)
        return copy

    def add(self, file: str, qualified_name: str) -> str:
        """Record an atom's definition and return its key."""
        key = atom_key(file, qualified_name)
        module = module_of(file)
        full = f"{module}.{qualified_name}" if module else qualified_name
        self.defined[full] = key
        self.local[file][qualified_name] = key
        self.by_last[qualified_name.rpartition(".")[2]].add(full)
        self.modules.add(module)
        return key

    def has_class(self, file: str, name: str) -> bool:
        """Whether class `name` is planned in `file` or already exists there in the workspace."""
        module = module_of(file)
        return name in self.local.get(file, {}) or f"{module}.{name}" in self.workspace

    def defines(self, file: str, qualified_name: str) -> str | None:
        """The key of the atom already defining this symbol, if any."""
        return self.local.get(file, {}).get(qualified_name)

    def resolve(self, use: str, file: str, qualified_name: str) -> Resolution:
        """Where `use`, written inside atom `file::qualified_name`, is defined."""
        name = use.strip().removesuffix("()")
        owner, _, _ = qualified_name.rpartition(".")
        head, _, rest = name.partition(".")
        if head in {"self", "cls"} and owner and rest:
            member = self.local.get(file, {}).get(f"{owner}.{rest.partition('.')[0]}")
            # Not a planned method: an attribute set at run time (self.items = ...).
            return Resolution(atom=member) if member else Resolution(source="attribute")
        key = self.local.get(file, {}).get(name) or self.defined.get(name)
        if key:
            return Resolution(atom=key)
        matches = self._tail_matches(name, self.by_last)
        if len(matches) == 1:
            return Resolution(atom=self.defined[matches[0]])
        if len(matches) > 1:
            return Resolution(problem=f"is ambiguous ({', '.join(sorted(matches))}); qualify it")
        return self._outside(name)

    def _outside(self, name: str) -> Resolution:
        if name in self.workspace or self._tail_matches(name, self.workspace_by_last):
            return Resolution(source="workspace")
        root = name.partition(".")[0]
        if name in self.modules:
            return Resolution(source="module")
        if root in _BUILTINS:
            return Resolution(source="builtin")
        if root in sys.stdlib_module_names:
            return Resolution(source="stdlib")
        if root.lower() in self.dependencies:
            return Resolution(source="dependency")
        return Resolution(
            problem="is not defined by any atom, the workspace, the standard library or a "
            "declared dependency"
        )

    @staticmethod
    def _tail_matches(name: str, by_last: dict[str, set[str]]) -> list[str]:
        last = name.rpartition(".")[2]
        return [full for full in by_last.get(last, ()) if full == name or full.endswith("." + name)]
