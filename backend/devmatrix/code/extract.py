"""Turn one file's source into atoms by walking query captures.

No language appears here: definitions, statements, references and imports come from the capture
names documented in `queries/python.scm` and `queries/python-statements.scm`. Per file, the
statements pass stops at the root's children, the definitions pass at depth 5, and the names
pass walks the whole tree: with the parse itself, these tree-sitter passes are most of the
time, so the Python loops over their captures are kept to a few integer comparisons per name.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import cast

from tree_sitter import Node, QueryCursor

from devmatrix.code.atoms import AtomKind, CodeAtom, ImportBinding, atom_id
from devmatrix.code.languages import STRUCTURE_DEPTH, CompiledLanguage, LanguageSpec, compiled
from devmatrix.code.languages import parser_for as _parser_for

Captures = dict[str, list[Node]]

# A dotted chain after a captured name (`.b.c` in `a.b.c`). Members are read from the text
# rather than captured: it halves the captures of the full pass.
_CHAIN = re.compile(rb"(?:\.[A-Za-z_$][\w$]*)+")
_DOT = 0x2E
_START = attrgetter("start_byte")


@dataclass(frozen=True)
class FileAtoms:
    """The atoms of one file, and the first line with a syntax error (None when it parses)."""

    atoms: tuple[CodeAtom, ...]
    lines: int
    error_line: int | None = None
    dropped: int = 0


@dataclass(slots=True)
class _Draft:
    """An atom being built; `parent` indexes the enclosing draft (a class for a method)."""

    start: int
    end: int
    start_line: int
    end_line: int
    kind: str
    qualified: str
    signature_end: int
    parent: int = -1
    atom: bool = True
    defines: list[str] = field(default_factory=list)


def extract_atoms(file: str, source: bytes, spec: LanguageSpec) -> FileAtoms:
    """Parse `source` (the content of `file`, a relative path) and cut it into atoms."""
    lang = compiled(spec)
    root = _parser_for(spec).parse(source).root_node
    structure = _structure(lang, root)
    drafts = _definitions(structure, source, lang.tests)
    atoms = _with_blocks(drafts, structure)
    seg_starts, seg_owner = _segments(atoms)
    _merge_defines(drafts, atoms, seg_starts, seg_owner)
    _attach_constants(atoms, structure, source, seg_starts, seg_owner)
    # Most files are ASCII: slicing the decoded text then gives names without a decode each.
    text = source.decode("ascii") if source.isascii() else None
    names, imports = _references(lang, root, source, text, len(atoms), seg_starts, seg_owner)
    built = [
        _finish(file, draft, source, text, names[i], imports[i], lang.receiver_bounds)
        for i, draft in enumerate(atoms)
    ]
    lines = source.count(b"\n") + (1 if source and not source.endswith(b"\n") else 0)
    if not root.has_error:
        return FileAtoms(tuple(built), lines)
    errors = [(n.start_byte, n.end_byte, n.start_point.row + 1) for n in _errors(lang, root)]
    kept = tuple(
        a for a in built if not any(s < a.end_byte and a.start_byte < e for s, e, _ in errors)
    )
    first = min((row for _, _, row in errors), default=root.start_point.row + 1)
    return FileAtoms(kept, lines, error_line=first, dropped=len(built) - len(kept))


def _structure(lang: CompiledLanguage, root: Node) -> Captures:
    """Captures of the definitions query (shallow) and of the statements query (at the root)."""
    cursor = QueryCursor(lang.structure)
    cursor.set_max_start_depth(STRUCTURE_DEPTH)
    structure = cursor.captures(root)
    cursor = QueryCursor(lang.statements)
    cursor.set_max_start_depth(0)
    for capture, nodes in cursor.captures(root).items():
        structure[capture] = structure.get(capture, []) + nodes
    return structure


def _in_source_order(nodes: Iterable[Node]) -> list[Node]:
    """Captures in source order: the query cursor returns them in an order that varies by run."""
    return sorted(nodes, key=_START)


def _errors(lang: CompiledLanguage, root: Node) -> list[Node]:
    found = QueryCursor(lang.errors).captures(root).get("error", [])
    # A tree with errors but no ERROR/MISSING node left (rare) still counts as broken.
    return found or [root]


def _definitions(structure: Captures, source: bytes, tests: re.Pattern[str] | None) -> list[_Draft]:
    """Pair each `definition.<kind>` node with its name and body; nest them by byte range.
    A function whose name matches `tests` is a test."""
    body_starts = sorted(n.start_byte for n in structure.get("body", ()))
    by_name: dict[int, _Draft] = {}
    for capture, nodes in structure.items():
        if not capture.startswith("definition."):
            continue
        kind = capture.removeprefix("definition.")
        names = sorted(structure.get(f"name.{capture}", ()), key=_START)
        name_starts = [n.start_byte for n in names]
        for node in nodes:
            start, end = node.start_byte, node.end_byte
            i = bisect_left(name_starts, start)
            if i == len(names) or name_starts[i] >= end:
                continue
            known = by_name.get(name_starts[i])
            # The same name node seen from a wrapper (decorator, export): keep the widest.
            if known is not None and known.end - known.start >= end - start:
                continue
            name_end = names[i].end_byte
            j = bisect_right(body_starts, name_end)
            body = body_starts[j] if j < len(body_starts) and body_starts[j] < end else end
            name = source[name_starts[i] : name_end].decode("utf-8", "replace")
            by_name[name_starts[i]] = _Draft(
                start=start,
                end=end,
                start_line=node.start_point.row + 1,
                end_line=node.end_point.row + 1,
                kind="test" if kind == "function" and tests and tests.search(name) else kind,
                qualified=name,
                signature_end=body,
            )
    drafts = sorted(by_name.values(), key=lambda d: (d.start, -d.end))
    stack: list[int] = []
    for index, draft in enumerate(drafts):
        while stack and drafts[stack[-1]].end <= draft.start:
            stack.pop()
        if stack:
            parent = drafts[stack[-1]]
            draft.parent = stack[-1]
            draft.qualified = f"{parent.qualified}.{draft.qualified}"
            if draft.kind == "function" and parent.kind == "class":
                draft.kind = "method"
        stack.append(index)
    return drafts


def _with_blocks(drafts: list[_Draft], structure: Captures) -> list[_Draft]:
    """Decide which definitions are atoms and group remaining top-level statements into blocks."""
    roots = {(d.start, d.end): i for i, d in enumerate(drafts) if d.parent < 0}
    skipped = {n.start_byte for n in structure.get("statement.skip", ())}
    imports = {n.start_byte for n in structure.get("statement.import", ())}
    statements = sorted(
        (n for n in structure.get("statement", ()) if n.start_byte not in skipped),
        key=_START,
    )
    top: set[int] = set()
    blocks: list[_Draft] = []
    counts = {"imports": 0, "constants": 0}
    run_open = False  # a definition between two statements ends the run of statements
    for node in statements:
        span = (node.start_byte, node.end_byte)
        if span in roots:
            top.add(roots[span])
            run_open = False
            continue
        kind = "imports" if span[0] in imports else "constants"
        if run_open and blocks[-1].kind == kind:
            blocks[-1].end, blocks[-1].end_line = span[1], node.end_point.row + 1
            continue
        counts[kind] += 1
        blocks.append(_block(node, kind, counts[kind]))
        run_open = True
    for index, draft in enumerate(drafts):
        parent = drafts[draft.parent] if draft.parent >= 0 else None
        # Parents sort before their children, so `parent.atom` is already decided.
        draft.atom = index in top or (parent is not None and parent.atom and parent.kind == "class")
    # Atoms in source order.
    return sorted([d for d in drafts if d.atom] + blocks, key=lambda d: (d.start, -d.end))


def _block(node: Node, kind: str, number: int) -> _Draft:
    """The `number`th block of `kind` in the file, starting at `node`."""
    name = f"<{kind}>" if number == 1 else f"<{kind}#{number}>"
    return _Draft(
        start=node.start_byte,
        end=node.end_byte,
        start_line=node.start_point.row + 1,
        end_line=node.end_point.row + 1,
        kind=kind,
        qualified=name,
        signature_end=node.start_byte,
    )


def _merge_defines(
    drafts: list[_Draft], atoms: list[_Draft], seg_starts: list[int], seg_owner: list[int]
) -> None:
    """An atom defines its own name; definitions that are not atoms are recorded by their owner."""
    for draft in drafts:
        if draft.atom:
            draft.defines.insert(0, draft.qualified)
            continue
        owner = _owner(draft.start, seg_starts, seg_owner)
        if owner >= 0:
            atoms[owner].defines.append(draft.qualified)


def _segments(atoms: list[_Draft]) -> tuple[list[int], list[int]]:
    """Cut the file into spans owned by the innermost atom (a method inside its class)."""
    starts: list[int] = []
    owners: list[int] = []

    def mark(position: int, owner: int) -> None:
        if starts and starts[-1] == position:
            owners[-1] = owner
        else:
            starts.append(position)
            owners.append(owner)

    stack: list[int] = []
    for index, atom in enumerate(atoms):
        while stack and atoms[stack[-1]].end <= atom.start:
            ended = atoms[stack.pop()].end
            mark(ended, stack[-1] if stack else -1)
        mark(atom.start, index)
        stack.append(index)
    while stack:
        ended = atoms[stack.pop()].end
        mark(ended, stack[-1] if stack else -1)
    return starts, owners


def _owner_map(size: int, starts: list[int], owners: list[int]) -> array[int]:
    """The owning atom of every byte (-1 for none): one index per name instead of a search."""
    owner_at = array("i", [-1]) * (size + 1)
    bounds = [*starts, size + 1]
    for i, owner in enumerate(owners):
        if owner >= 0 and bounds[i] <= size:
            end = min(bounds[i + 1], size + 1)
            owner_at[bounds[i] : end] = array("i", [owner]) * (end - bounds[i])
    return owner_at


def _owner(position: int, starts: list[int], owners: list[int]) -> int:
    i = bisect_right(starts, position) - 1
    return owners[i] if i >= 0 else -1


def _attach_constants(
    atoms: list[_Draft],
    structure: Captures,
    source: bytes,
    seg_starts: list[int],
    seg_owner: list[int],
) -> None:
    """Names bound at module or class level are defined by the atom around them."""
    for node in _in_source_order(structure.get("name.definition.constant", ())):
        owner = _owner(node.start_byte, seg_starts, seg_owner)
        if owner < 0:
            continue
        atom = atoms[owner]
        name = source[node.start_byte : node.end_byte].decode("utf-8", "replace")
        qualified = f"{atom.qualified}.{name}" if atom.kind == "class" else name
        if qualified not in atom.defines:
            atom.defines.append(qualified)


def _references(
    lang: CompiledLanguage,
    root: Node,
    source: bytes,
    text: str | None,
    count: int,
    seg_starts: list[int],
    seg_owner: list[int],
) -> tuple[list[set[str]], list[list[ImportBinding]]]:
    """Names each atom uses (with their dotted chains) and the imports written inside it."""
    captures = QueryCursor(lang.references).captures(root)
    names: list[set[str]] = [set() for _ in range(count)]
    owner_at = _owner_map(len(source), seg_starts, seg_owner)
    _collect_names(captures.get("name.reference", []), source, text, owner_at, names)
    imports: list[list[ImportBinding]] = [[] for _ in range(count)]
    statements = captures.get("import")
    if statements:
        cursor = QueryCursor(lang.imports)
        for node in _in_source_order(statements):
            owner = _owner(node.start_byte, seg_starts, seg_owner)
            if owner >= 0:
                imports[owner].extend(_bindings(cursor, node, source))
    return names, imports


def _collect_names(
    nodes: list[Node], source: bytes, text: str | None, owner_at: array[int], names: list[set[str]]
) -> None:
    """Add each name, with its dotted chain, to the names of the atom that owns it.

    A name right after a single dot is a member (TypeScript's `ns.Type` captures `Type`), read
    with the head of its chain; after `...` it is a spread (`f(...args)`), a name of its own.
    This runs once per name in the file (0.8M in the stdlib), so each step is a few integer
    comparisons; `before[i]` is `source[i - 1]` and `after[i]` is `source[i]`, both without a
    bounds check. ASCII text (most files) is sliced as decoded text; other files decode each name.
    """
    adds = [found.add for found in names]
    chain = _CHAIN.match
    before, after = b"\0" + source, source + b"\0"
    for node in nodes:
        start = node.start_byte
        if before[start] == _DOT and before[start - 1] != _DOT:
            continue
        owner = owner_at[start]
        if owner < 0:
            continue
        end = node.end_byte
        if after[end] == _DOT:
            found = chain(source, end)
            if found is not None:
                end = found.end()
        if text is not None:
            adds[owner](text[start:end])
        else:
            adds[owner](source[start:end].decode("utf-8", "replace"))


def _bindings(cursor: QueryCursor, statement: Node, source: bytes) -> list[ImportBinding]:
    """One binding per match of the imports query (`cursor`) on one import statement."""
    found: list[ImportBinding] = []
    matches = cursor.matches(statement)
    # Bindings in source order: a later import of the same local name wins.
    matches.sort(key=lambda m: (max(n.start_byte for ns in m[1].values() for n in ns), m[0]))
    for _, match in matches:
        text = {
            capture: source[nodes[0].start_byte : nodes[0].end_byte].decode("utf-8", "replace")
            for capture, nodes in match.items()
            if nodes
        }
        path = text.get("import.path")
        module = path if path is not None else text.get("import.module")
        if module is None:
            continue
        module = "".join(module.split())  # `from . mod import x` is written with spaces
        name, alias = text.get("import.name"), text.get("import.alias")
        if "import.wildcard" in text:
            found.append(ImportBinding("*", module, "*", path is not None))
        elif name is not None:
            found.append(ImportBinding(alias or name, module, name, path is not None))
        else:
            found.append(ImportBinding(alias or module, module, None, path is not None))
    return found


def _finish(
    file: str,
    draft: _Draft,
    source: bytes,
    text: str | None,
    names: set[str],
    imports: list[ImportBinding],
    receivers: tuple[tuple[str, str, str], ...],
) -> CodeAtom:
    """Freeze a draft; `self.x` in a class member becomes `Class.x` so resolution needs no language."""
    references = sorted(names)
    own = _receiver_names(references, receivers)
    if own:
        rest = names.difference(own)
        if draft.kind in ("method", "test"):
            owner_class = draft.qualified.rpartition(".")[0]
            if owner_class:
                rest.update(f"{owner_class}.{n.partition('.')[2]}" for n in own if "." in n)
        references = sorted(rest)
    start = draft.start
    # A block's signature is its first line; a definition's is what comes before its body.
    end = draft.signature_end
    if draft.kind in ("constants", "imports"):
        end = source.find(b"\n", start, draft.end)
        end = draft.end if end < 0 else end
    if text is not None:
        signature = text[start:end].strip()
    else:
        signature = source[start:end].decode("utf-8", "replace").strip()
    return CodeAtom(
        atom_id(file, draft.qualified),
        file,
        draft.qualified,
        cast(AtomKind, draft.kind),
        start,
        draft.end,
        draft.start_line,
        draft.end_line,
        signature,
        tuple(draft.defines),
        tuple(references),
        tuple(imports),
    )


def _receiver_names(ordered: list[str], receivers: tuple[tuple[str, str, str], ...]) -> list[str]:
    """The names in `ordered` (sorted) that are a receiver (`self`) or start with one (`self.x`).

    They sort between `self` and `self/` (`receivers` holds each word with both bounds), so two
    searches find them; most atoms have none, and then nothing else is done.
    """
    found: list[str] = []
    for word, prefix, past in receivers:
        low = bisect_left(ordered, word)
        high = bisect_left(ordered, past, low)
        if low < high:
            found += [n for n in ordered[low:high] if n == word or n.startswith(prefix)]
    return found
