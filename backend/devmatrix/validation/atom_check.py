"""Level 1, one atom: its code parses, defines exactly the planned symbol with the planned
signature, and uses no name that is defined nowhere.

Parsing and symbols come from the tree-sitter atomizer (`devmatrix.code`); undefined names from
ruff's F821/F822/F823 rules on the file with the atom in place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from devmatrix.code.atoms import CodeAtom, atom_id
from devmatrix.code.extract import extract_atoms
from devmatrix.code.languages import language_for
from devmatrix.validation.findings import Code, Finding, Level
from devmatrix.validation.lint import check_source
from devmatrix.validation.signature import parse_signature, signature_differences

UNDEFINED_RULES = ("F821", "F822", "F823")
_LANGUAGE_NAMES = {"python": "Python", "javascript": "JavaScript", "typescript": "TypeScript"}
_UNDEFINED = re.compile(r"`([^`]+)`")
# Imports the model writes with its definition are not a second symbol.
_ALLOWED_EXTRA = ("imports",)


@dataclass(frozen=True)
class AtomContract:
    """What the plan asked for: file, qualified name, kind, signature and the symbols it may use."""

    file: str
    qualified_name: str
    kind: str
    signature: str = ""
    uses: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """`file::qualified_name`, the atom's stable key."""
        return atom_id(self.file, self.qualified_name)

    @property
    def name(self) -> str:
        """The last part of the qualified name."""
        return self.qualified_name.rpartition(".")[2]


class PlannedAtom(Protocol):
    """Anything with an atom's planned contract (a `storage.models.Atom` row, a plan's atom)."""

    @property
    def file(self) -> str: ...
    @property
    def qualified_name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def signature(self) -> str: ...
    @property
    def uses(self) -> Sequence[str]: ...


def contract_of(atom: PlannedAtom) -> AtomContract:
    """The contract L1 checks an atom's code against, from its planned fields."""
    return AtomContract(atom.file, atom.qualified_name, atom.kind, atom.signature, tuple(atom.uses))


def _finding(
    contract: AtomContract, code: Code, message: str, feedback: str, **where: object
) -> Finding:
    line = where.get("line")
    end_line = where.get("end_line", line)
    details = where.get("details") or {}
    return Finding(
        level=Level.ATOM,
        code=code,
        message=message,
        feedback=feedback,
        file=contract.file,
        line=line if isinstance(line, int) else None,
        end_line=end_line if isinstance(end_line, int) else None,
        atom_keys=(contract.key,),
        details=dict(details) if isinstance(details, dict) else {},
    )


def _syntax(
    contract: AtomContract, code: str, error_line: int, offset: int, language: str
) -> Finding:
    lines = code.splitlines()
    text = lines[error_line - 1] if 0 < error_line <= len(lines) else ""
    return _finding(
        contract,
        Code.SYNTAX_ERROR,
        f"{contract.qualified_name}: syntax error at line {error_line + offset}",
        f"Your code for `{contract.qualified_name}` does not parse. The first syntax error is on "
        f"line {error_line} of your answer:\n    {text.strip()}\n"
        f"Return the complete definition as valid {_LANGUAGE_NAMES.get(language, language)}, "
        "with balanced brackets and quotes and "
        "consistent indentation.",
        line=error_line + offset,
        details={"source_line": text},
    )


def _defined_kind(contract_kind: str) -> tuple[str, ...]:
    if contract_kind == "class":
        return ("class",)
    if contract_kind in ("constants", "imports"):
        return ("constants", "imports")
    # A method read on its own (outside its class) is a top-level function.
    return ("function", "method", "test")


def _symbol_problems(contract: AtomContract, atoms: Sequence[CodeAtom]) -> list[str]:
    """Sentences for the model; empty when the code defines exactly the planned symbol."""
    wanted = _defined_kind(contract.kind)
    top = [a for a in atoms if "." not in a.qualified_name or a.kind in ("constants", "imports")]
    if contract.kind in ("constants", "imports"):
        others = [a for a in top if a.kind not in wanted]
        defined = {n for a in top for n in a.defines}
        problems = [f"it also defines `{a.qualified_name}` ({a.kind})" for a in others]
        if contract.name.isidentifier() and contract.name not in defined:
            problems.append(f"it does not assign `{contract.name}`")
        return problems
    mine = [a for a in top if a.name == contract.name and a.kind not in _ALLOWED_EXTRA]
    others = [a for a in top if a.name != contract.name and a.kind not in _ALLOWED_EXTRA]
    problems = [
        f"it also defines `{a.qualified_name}` ({a.kind}); put only `{contract.name}` in your answer"
        for a in others
    ]
    if not mine:
        problems.insert(0, f"it does not define `{contract.name}`")
    elif len(mine) > 1:
        problems.insert(0, f"it defines `{contract.name}` {len(mine)} times")
    elif mine[0].kind not in wanted:
        problems.insert(0, f"`{contract.name}` is a {mine[0].kind}, the plan says {contract.kind}")
    return problems


def _signature_finding(contract: AtomContract, atom: CodeAtom, offset: int) -> Finding | None:
    if not contract.signature.strip() or contract.kind in ("constants", "imports"):
        return None
    planned = parse_signature(
        contract.signature, name=contract.name, kind=contract.kind, path=contract.file
    )
    actual = parse_signature(
        atom.signature, name=contract.name, kind=contract.kind, path=contract.file
    )
    if planned is None or actual is None:
        return None  # an unparsable planned signature is a plan defect, not the model's
    explicit_def = contract.signature.lstrip().startswith(("def ", "async def "))
    diffs = signature_differences(planned, actual, compare_async=explicit_def)
    if not diffs:
        return None
    return _finding(
        contract,
        Code.SIGNATURE_MISMATCH,
        f"{contract.qualified_name}: signature differs from the plan ({diffs[0]})",
        f"The signature of `{contract.qualified_name}` must be exactly:\n    {planned.render()}\n"
        f"You wrote:\n    {actual.render()}\nDifferences: " + "; ".join(diffs) + ".\n"
        "Other code calls it with the planned signature; keep the names, order, defaults and "
        "annotations as planned.",
        line=atom.start_line + offset,
        details={"planned": planned.render(), "actual": actual.render()},
    )


def _allowed_names(contract: AtomContract, extra: Iterable[str]) -> set[str]:
    names = set(extra)
    for used in (*contract.uses, *extra):
        head, _, _ = used.partition(".")
        names.update((used, head, used.rpartition(".")[2]))
    return names


def _undefined(
    contract: AtomContract, file_source: str, span: tuple[int, int], allowed: set[str]
) -> list[Finding]:
    found = []
    for diag in check_source(file_source, filename=contract.file, select=UNDEFINED_RULES):
        match = _UNDEFINED.search(diag.message)
        name = match.group(1) if match else ""
        in_atom = span[0] <= diag.line <= span[1]
        if diag.rule not in UNDEFINED_RULES or not in_atom or name in allowed:
            continue
        source_line = file_source.splitlines()[diag.line - 1].strip()
        found.append(
            _finding(
                contract,
                Code.UNDEFINED_NAME,
                f"{contract.qualified_name}: {diag.message} (line {diag.line})",
                f"`{contract.qualified_name}` uses `{name}`, which is defined nowhere: not in your "
                f"code, not in {contract.file}, not a builtin, not among the symbols you may use. "
                f"Line {diag.line}:\n    {source_line}\n"
                "Use one of the symbols given in your contract, define the value locally, or fix "
                "the spelling.",
                line=diag.line,
                details={"name": name, "rule": diag.rule},
            )
        )
    return found


def check_atom(
    contract: AtomContract,
    code: str,
    *,
    file_source: str | None = None,
    known_names: Iterable[str] = (),
) -> list[Finding]:
    """L1 findings for one atom's generated `code` (empty list: the atom passes).

    `file_source` is its file with the code in place (other atoms, imports); without it the code
    is checked alone. `known_names` are extra names that count as defined.
    """
    spec = language_for(contract.file)
    if spec is None:
        return []  # no grammar for this file type: nothing at this level can be checked
    source = file_source if file_source is not None else code
    offset = max(source[: source.find(code)].count("\n"), 0) if code in source else 0
    alone = extract_atoms(contract.file, code.encode(), spec)
    if alone.error_line is not None:
        return [_syntax(contract, code, alone.error_line, offset, spec.name)]
    problems = _symbol_problems(contract, alone.atoms)
    if problems:
        return [
            _finding(
                contract,
                Code.WRONG_SYMBOL,
                f"{contract.qualified_name}: " + "; ".join(problems),
                f"Your answer must define exactly one {contract.kind} `{contract.name}` and "
                "nothing else. Problems: " + "; ".join(problems) + ".",
                line=offset + 1,
            )
        ]
    return _in_file(contract, code, alone.atoms, source, offset, known_names)


def _in_file(
    contract: AtomContract,
    code: str,
    atoms: Sequence[CodeAtom],
    source: str,
    offset: int,
    known_names: Iterable[str],
) -> list[Finding]:
    """Checks that need the file around the atom: placement, signature, undefined names."""
    findings: list[Finding] = []
    spec = language_for(contract.file)
    assert spec is not None  # checked by the caller
    placed = extract_atoms(contract.file, source.encode(), spec)
    in_class = any(a.qualified_name == contract.qualified_name for a in placed.atoms)
    if placed.error_line is None and contract.kind == "method" and not in_class:
        findings.append(
            _finding(
                contract,
                Code.WRONG_SYMBOL,
                f"{contract.qualified_name}: not found inside its class",
                f"`{contract.name}` must be a method of `{contract.qualified_name.rpartition('.')[0]}`, "
                "indented inside that class body.",
                line=offset + 1,
            )
        )
    own = next((a for a in atoms if a.name == contract.name and a.kind != "imports"), None)
    if own is not None:
        sig = _signature_finding(contract, own, offset)
        if sig is not None:
            findings.append(sig)
    span = (offset + 1, offset + max(code.count("\n") + (0 if code.endswith("\n") else 1), 1))
    if spec.name == "python":  # ruff reads Python only; other languages get the other checks
        findings.extend(_undefined(contract, source, span, _allowed_names(contract, known_names)))
    return findings
