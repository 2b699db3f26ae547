"""Resolve the names atoms use to the atoms that define them, across files and imports.

Written by hand: the resolution works on plain `CodeAtom` data (from disk or from a plan), so it
needs no parser. Python modules are dotted (`pkg.mod`, `..mod` relative); JavaScript/TypeScript
modules are paths (`./util`). Names that resolve to nothing here (builtins, third-party
packages, locals) give no edge.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from devmatrix.code.atoms import CodeAtom, ImportBinding
from devmatrix.code.languages import PACKAGE_STEMS, SOURCE_EXTENSIONS

# Re-exports (`from .mod import f` in `__init__`) are followed this many files deep.
MAX_REEXPORT_DEPTH = 4
_BLOCK_KINDS = ("imports", "constants")


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
        self._modules: dict[tuple[ImportBinding, str], str | None] = {}
        self._answers: dict[str, dict[str, str | None]] = {}
        # A name whose head no file defines or imports resolves to nothing (locals, builtins).
        self.heads = {key.partition(".")[0] for table in self.symbols.values() for key in table}
        self.heads.update(
            local.partition(".")[0] for table in self.bindings.values() for local in table
        )

    def _bind(self, file: str, imports: Iterable[ImportBinding]) -> None:
        for binding in imports:
            if binding.symbol == "*":
                self.wildcards[file].append(binding)
            else:
                self.bindings[file][binding.local] = binding

    def module_file(self, binding: ImportBinding, file: str) -> str | None:
        """The file a binding's module refers to, or None when it is outside the code base."""
        key = (binding, file)
        if key not in self._modules:
            self._modules[key] = self._module_file(binding, file)
        return self._modules[key]

    def _module_file(self, binding: ImportBinding, file: str) -> str | None:
        module = binding.module
        if binding.is_path:
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
        table = self.symbols.get(file, {})
        for k in range(min(len(parts), 2), 0, -1):
            found = table.get(".".join(parts[:k]))
            if found is not None:
                return found
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

    def resolve(self, atom: CodeAtom, reference: str) -> str | None:
        """The id of the atom defining what `atom` calls `reference`, or None."""
        return self.resolver(atom)(reference)

    def resolver(self, atom: CodeAtom) -> Callable[[str], str | None]:
        """`resolve` for one atom, with what depends on the atom alone worked out once."""
        prefix = f"{atom.qualified_name}."
        nested = {d[len(prefix) :] for d in atom.defines if d.startswith(prefix)}
        nested.discard(atom.qualified_name)
        own: dict[str, ImportBinding] = {}
        if atom.imports and atom.kind not in _BLOCK_KINDS:
            own = {b.local: b for b in atom.imports if b.symbol != "*"}
        file = atom.file
        # What the file alone decides, shared by every atom of the file without own imports.
        answers = self._answers.setdefault(file, {})
        heads = self.heads

        def resolve(reference: str) -> str | None:
            head = reference.partition(".")[0]
            # A nested function shadows a module-level name of the same name.
            if head in nested:
                return None
            if own:
                return self._answer(file, reference, own)
            if head not in heads:
                return None
            if reference not in answers:
                answers[reference] = self._answer(file, reference, own)
            return answers[reference]

        return resolve

    def _answer(self, file: str, reference: str, own: dict[str, ImportBinding]) -> str | None:
        """Resolve in `file` itself, then through the atom's `own` imports, then the file's."""
        parts = reference.split(".")
        local = self.symbols.get(file, {})
        for k in range(min(len(parts), 2), 0, -1):
            found = local.get(".".join(parts[:k]))
            if found is not None:
                return found
        if own:
            found = self._through_imports(file, parts, own, 1)
            if found is not None:
                return found
        return None if parts[0] in local else self.lookup(file, parts, 1)


def resolve_edges(atoms: Sequence[CodeAtom]) -> list[tuple[str, str]]:
    """Every (user, used) pair of atom ids; a method also uses its class."""
    index = SymbolIndex(atoms)
    edges: set[tuple[str, str]] = set()
    ids = {a.id for a in atoms}
    for atom in atoms:
        resolve = index.resolver(atom)
        for reference in atom.references:
            target = resolve(reference)
            if target is not None and target != atom.id:
                edges.add((atom.id, target))
        owner, dot, _ = atom.qualified_name.rpartition(".")
        if dot and atom.kind in ("method", "test", "class"):
            owner_id = index.symbols[atom.file].get(owner)
            if owner_id is not None and owner_id in ids and owner_id != atom.id:
                edges.add((atom.id, owner_id))
    return sorted(edges)
