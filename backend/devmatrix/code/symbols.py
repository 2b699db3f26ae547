"""Resolve the names atoms use to the atoms that define them, across files and imports.

Written by hand: the resolution works on plain `CodeAtom` data (from disk or from a plan), so it
needs no parser. Python modules are dotted (`pkg.mod`, `..mod` relative); JavaScript/TypeScript
modules are paths (`./util`). Names that resolve to nothing here (builtins, third-party
packages, locals) give no edge.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import groupby
from operator import attrgetter

from devmatrix.code.atoms import CodeAtom, ImportBinding
from devmatrix.code.languages import PACKAGE_STEMS, SOURCE_EXTENSIONS

# Re-exports (`from .mod import f` in `__init__`) are followed this many files deep.
MAX_REEXPORT_DEPTH = 4
_BLOCK_KINDS = ("imports", "constants")
# Marks a module not yet looked up (None is a looked-up module outside the code base).
_UNKNOWN = "\0"


def _module_key(file: str) -> str:
    """`pkg/sub/mod.py` -> `pkg/sub/mod`; `pkg/__init__.py` -> `pkg`."""
    stem, _ = posixpath.splitext(file)
    head, _, last = stem.rpartition("/")
    return head if last in PACKAGE_STEMS and head else stem


class SymbolIndex:
    """What every file defines and imports, built once from a list of atoms."""

    def __init__(self, atoms: Sequence[CodeAtom]) -> None:
        self.symbols: dict[str, dict[str, str]] = defaultdict(dict)
        self.bindings: dict[str, dict[str, ImportBinding]] = defaultdict(dict)
        self.wildcards: dict[str, list[ImportBinding]] = defaultdict(list)
        self.by_dotted: dict[str, str] = {}
        self.by_path: dict[str, str] = {}
        suffixes: dict[str, set[str]] = defaultdict(set)
        # Blocks first, so a `def` wins over a block binding the same name.
        ordered = sorted(atoms, key=lambda a: a.kind not in _BLOCK_KINDS)
        for atom in ordered:
            table = self.symbols[atom.file]
            for name in atom.defines:
                table[name] = atom.id
            if atom.kind in _BLOCK_KINDS:
                self._bind(atom.file, atom.imports)
        for file in {a.file for a in atoms}:
            key = _module_key(file)
            self.by_path[key] = file
            dotted = key.replace("/", ".")
            self.by_dotted[dotted] = file
            parts = dotted.split(".")
            for i in range(1, len(parts)):
                suffixes[".".join(parts[i:])].add(file)
        # `src/pkg/mod.py` is imported as `pkg.mod`: accept a suffix when only one file has it.
        self.by_suffix = {s: next(iter(f)) for s, f in suffixes.items() if len(f) == 1}
        # Lookups depend only on the index, and the same names are looked up from every atom
        # of a file (and re-exports from every importer): each is answered once.
        self._lookups: dict[tuple[str, tuple[str, ...], int], str | None] = {}
        self._modules: dict[tuple[str, bool, str], str | None] = {}
        # Per file: the names that resolve (-> atom id), and every name already asked.
        self._answers: dict[str, tuple[dict[str, str], set[str]]] = {}
        self._file_heads: dict[str, set[str]] = {}
        # A name whose head no file defines or imports resolves to nothing (locals, builtins).
        self.heads = {key.partition(".")[0] for table in self.symbols.values() for key in table}
        self.heads.update(
            local.partition(".")[0] for table in self.bindings.values() for local in table
        )

    def file_heads(self, file: str) -> set[str]:
        """First parts of the names `file` defines or imports: any other name used in the file
        resolves to nothing, unless a wildcard import may bring it (then every known head)."""
        heads = self._file_heads.get(file)
        if heads is None:
            if self.wildcards.get(file):
                heads = self.heads
            else:
                heads = {key.partition(".")[0] for key in self.symbols.get(file, ())}
                heads.update(local.partition(".")[0] for local in self.bindings.get(file, ()))
            self._file_heads[file] = heads
        return heads

    def _bind(self, file: str, imports: Iterable[ImportBinding]) -> None:
        for binding in imports:
            if binding.symbol == "*":
                self.wildcards[file].append(binding)
            else:
                self.bindings[file][binding.local] = binding

    def module_file(self, binding: ImportBinding, file: str) -> str | None:
        """The file a binding's module refers to, or None when it is outside the code base."""
        # Keyed by what the answer depends on: cheaper to hash than the binding itself.
        key = (binding.module, binding.is_path, file)
        found = self._modules.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._modules[key] = self._module_file(binding.module, binding.is_path, file)
        return found

    def _module_file(self, module: str, is_path: bool, file: str) -> str | None:
        if is_path:
            if not module.startswith("."):
                return None  # a package from node_modules
            target = posixpath.normpath(posixpath.join(posixpath.dirname(file), module))
            stem, ext = posixpath.splitext(target)
            return self.by_path.get(stem if ext in SOURCE_EXTENSIONS else target)
        level = len(module) - len(module.lstrip("."))
        rest = module[level:]
        if not level:
            return self.by_dotted.get(rest) or self.by_suffix.get(rest)
        key = _module_key(file)
        package = key.split("/")
        if posixpath.basename(posixpath.splitext(file)[0]) not in PACKAGE_STEMS:
            package = package[:-1]
        if level - 1 > len(package):
            return None
        base = package[: len(package) - (level - 1)]
        return self.by_path.get("/".join([*base, *rest.split(".")]) if rest else "/".join(base))

    def lookup(self, file: str, parts: Sequence[str], depth: int = 0) -> str | None:
        """The atom defining `parts` (`["C", "m"]` for `C.m`) in `file`, following re-exports."""
        key = (file, tuple(parts), depth)
        if key not in self._lookups:
            self._lookups[key] = self._lookup(file, parts, depth)
        return self._lookups[key]

    def _lookup(self, file: str, parts: Sequence[str], depth: int) -> str | None:
        found = _in_table(self.symbols.get(file, {}), parts)
        return found if found is not None else self._imported(file, parts, depth)

    def _imported(self, file: str, parts: Sequence[str], depth: int) -> str | None:
        """Resolve `parts` through the imports of `file` (not what it defines itself)."""
        if depth >= MAX_REEXPORT_DEPTH:
            return None
        found = self._through_imports(file, parts, self.bindings.get(file, {}), depth + 1)
        if found is not None:
            return found
        for binding in self.wildcards.get(file, ()):
            target = self.module_file(binding, file)
            if target is not None and target != file:
                found = self.lookup(target, parts, depth + 1)
                if found is not None:
                    return found
        return None

    def _through_imports(
        self, file: str, parts: Sequence[str], bindings: dict[str, ImportBinding], depth: int
    ) -> str | None:
        """Resolve `parts` through the import bound to its longest dotted prefix."""
        for k in range(min(len(parts), 3), 0, -1):
            binding = bindings.get(".".join(parts[:k]))
            if binding is None:
                continue
            target = self.module_file(binding, file)
            rest = list(parts[k:])
            if binding.symbol is None:
                return self.lookup(target, rest, depth) if target and rest else None
            if target is not None:
                found = self.lookup(target, [binding.symbol, *rest], depth)
                if found is not None:
                    return found
            # `from pkg import mod` names a module, not a symbol of `pkg`.
            joined = binding.module + ("" if binding.module.endswith(".") else ".") + binding.symbol
            sub = ImportBinding(binding.local, joined)
            sub_file = None if binding.is_path else self.module_file(sub, file)
            return self.lookup(sub_file, rest, depth) if sub_file and rest else None
        return None

    def targets(self, atom: CodeAtom, answers: dict[str, str] | None = None) -> set[str]:
        """The ids the references of `atom` resolve to. `answers` are the file's (see
        `file_answers`), when the caller has them for every reference of `atom`."""
        if answers is None:
            answers = self.file_answers(atom.file, set(atom.references))
        nested = self._nested(atom) if len(atom.defines) > 1 else set()
        own: dict[str, ImportBinding] = {}
        if atom.imports and atom.kind not in _BLOCK_KINDS:
            own = {b.local: b for b in atom.imports if b.symbol != "*"}
        if not nested and not own:
            return set(map(answers.__getitem__, answers.keys() & atom.references))
        # A name whose head the atom's own imports do not bind resolves as in the whole file.
        own_heads = {local.partition(".")[0] for local in own}
        found: set[str] = set()
        for reference in atom.references:
            head = reference.partition(".")[0]
            # A nested function shadows a module-level name of the same name.
            if head in nested:
                continue
            target = (
                self._answer(atom.file, reference, own)
                if head in own_heads
                else answers.get(reference)
            )
            if target is not None:
                found.add(target)
        return found

    def file_answers(self, file: str, references: set[str]) -> dict[str, str]:
        """The file's answers (name -> atom id, for the names that resolve) before an atom's own
        imports, worked out once per name and file for every atom of the file."""
        answers, asked = self._answers.setdefault(file, ({}, set()))
        unknown = references - asked
        if unknown:
            asked |= unknown
            heads = self.file_heads(file)
            for reference in unknown:
                if reference.partition(".")[0] in heads:
                    target = self._answer(file, reference, {})
                    if target is not None:
                        answers[reference] = target
        return answers

    @staticmethod
    def _nested(atom: CodeAtom) -> set[str]:
        """Names of the functions nested in `atom`, as `atom`'s body calls them."""
        prefix = f"{atom.qualified_name}."
        nested = {d[len(prefix) :] for d in atom.defines if d.startswith(prefix)}
        nested.discard(atom.qualified_name)
        return nested

    def _answer(self, file: str, reference: str, own: dict[str, ImportBinding]) -> str | None:
        """Resolve in `file` itself, then through the atom's `own` imports, then the file's."""
        parts = reference.split(".")
        local = self.symbols.get(file, {})
        found = _in_table(local, parts)
        if found is not None:
            return found
        if own:
            found = self._through_imports(file, parts, own, 1)
            if found is not None:
                return found
        # Each (file, name) is answered once, so this step needs no memo of its own.
        return None if parts[0] in local else self._imported(file, parts, 1)


def _in_table(table: dict[str, str], parts: Sequence[str]) -> str | None:
    """The atom a file defines under `parts` (`C.m` for `C.m.x`, else `C`), or None."""
    if len(parts) > 1:
        found = table.get(f"{parts[0]}.{parts[1]}")
        if found is not None:
            return found
    return table.get(parts[0])


def resolve_edges(atoms: Sequence[CodeAtom]) -> list[tuple[str, str]]:
    """Every (user, used) pair of atom ids, sorted; a method also uses its class."""
    index = SymbolIndex(atoms)
    ids = {a.id for a in atoms}
    # Targets grouped by user: sorting users, then each user's few targets, is cheaper than
    # sorting every pair.
    uses: dict[str, set[str]] = {}
    # A file's atoms are usually listed together: their names are answered in one batch.
    for file, group in groupby(atoms, key=attrgetter("file")):
        members = list(group)
        answers = index.file_answers(file, set().union(*[a.references for a in members]))
        for atom in members:
            user = atom.id
            found = index.targets(atom, answers)
            if atom.kind in ("method", "test", "class"):
                owner, dot, _ = atom.qualified_name.rpartition(".")
                owner_id = index.symbols[file].get(owner) if dot else None
                if owner_id is not None and owner_id in ids:
                    found.add(owner_id)
            found.discard(user)
            if found:
                if user in uses:
                    uses[user] |= found
                else:
                    uses[user] = found
    return [(user, target) for user in sorted(uses) for target in sorted(uses[user])]
