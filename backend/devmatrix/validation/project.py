"""Levels 1 to 3 on an existing project with tests (`devmatrix validate DIR`).

L1 is what can be checked without a plan (every file parses, no undefined names) plus, given
contracts, each planned symbol and signature. The whole project counts as one task for L2 (every
module imports, every test passes), and L3 adds lint (its package import and test run are L2's,
so they run once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from devmatrix.code.atoms import CodeAtom
from devmatrix.code.extract import extract_atoms
from devmatrix.code.languages import language_for
from devmatrix.sandbox import SandboxLimits
from devmatrix.validation.atom_check import UNDEFINED_RULES, AtomContract, check_atom
from devmatrix.validation.blame import blame, is_test_file
from devmatrix.validation.findings import Code, Finding, Level
from devmatrix.validation.in_sandbox import FileCoverage
from devmatrix.validation.levels import check_task, lint_finding
from devmatrix.validation.lint import SYNTAX_RULE, lint_project
from devmatrix.validation.pytest_report import TestOutcome

_SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".venv", "venv", "env", "__pycache__", "build", "dist", "node_modules", ".tox"}
)
_NOT_IMPORTED = frozenset({"setup.py", "conftest.py", "__main__.py", "noxfile.py"})


@dataclass(frozen=True)
class ProjectReport:
    """Findings (blamed on atoms where possible), the atoms read, test outcomes and coverage."""

    findings: tuple[Finding, ...]
    atoms: tuple[CodeAtom, ...]
    outcomes: tuple[TestOutcome, ...]
    coverage: dict[str, FileCoverage] | None

    @property
    def passed(self) -> bool:
        """True when no level found anything."""
        return not self.findings


def python_files(root: Path) -> list[str]:
    """Python files of the project, relative POSIX paths, sorted; caches and virtualenvs skipped."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in _SKIPPED_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        found.append(rel.as_posix())
    return found


def module_name(file: str) -> str | None:
    """The dotted module a file is imported as (`src/` layout understood), or None for scripts."""
    p = PurePosixPath(file)
    if p.name in _NOT_IMPORTED or is_test_file(file):
        return None
    parts = list(p.with_suffix("").parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts and all(x.isidentifier() for x in parts) else None


def _read(root: Path, files: list[str]) -> tuple[list[CodeAtom], list[Finding], dict[str, str]]:
    atoms: list[CodeAtom] = []
    findings: list[Finding] = []
    sources: dict[str, str] = {}
    for file in files:
        spec = language_for(file)
        if spec is None:
            continue
        raw = (root / file).read_bytes()
        sources[file] = raw.decode("utf-8", "replace")
        read = extract_atoms(file, raw, spec)
        atoms.extend(read.atoms)
        if read.error_line is not None:
            text = sources[file].splitlines()[read.error_line - 1 : read.error_line]
            culprit = _around_error(file, raw, read.error_line)
            if culprit is not None and culprit.id not in {a.id for a in read.atoms}:
                atoms.append(culprit)
            findings.append(
                Finding(
                    atom_keys=(culprit.id,) if culprit else (),
                    level=Level.ATOM,
                    code=Code.SYNTAX_ERROR,
                    message=f"syntax error at line {read.error_line}",
                    feedback=(
                        f"{file} does not parse; the first syntax error is on line "
                        f"{read.error_line}:\n    {(text[0] if text else '').strip()}"
                    ),
                    file=file,
                    line=read.error_line,
                )
            )
    return atoms, findings, sources


def _around_error(file: str, raw: bytes, error_line: int) -> CodeAtom | None:
    """The atom a syntax error is in: the file is read again with the bad line blanked out, and
    the nearest atom starting at or above that line is taken (the parse drops atoms it overlaps)."""
    spec = language_for(file)
    if spec is None:
        return None
    lines = raw.split(b"\n")
    lines[error_line - 1] = b""
    recovered = extract_atoms(file, b"\n".join(lines), spec).atoms
    above = [a for a in recovered if a.start_line <= error_line and a.kind != "imports"]
    nearest = max(above, key=lambda a: (a.start_line, -a.end_line), default=None)
    # Its range as parsed stops before the blanked line; the error line is part of it.
    return replace(nearest, end_line=max(nearest.end_line, error_line)) if nearest else None


def read_atoms(root: Path, files: list[str]) -> tuple[list[CodeAtom], dict[str, str]]:
    """The atoms of the given project files and their text, by relative path."""
    atoms, _, sources = _read(root, files)
    return atoms, sources


def _undefined(root: Path) -> list[Finding]:
    found = []
    for diag in lint_project(root, select=UNDEFINED_RULES):
        if diag.rule not in UNDEFINED_RULES:
            continue  # ruff also reports files that do not parse; L1 has those already
        finding = lint_finding(diag)
        found.append(
            Finding(
                level=Level.ATOM,
                code=Code.UNDEFINED_NAME,
                message=diag.message,
                feedback=(
                    f"{diag.message} at {diag.file}:{diag.line}: the name is defined nowhere "
                    "(not in the function, the file, its imports or the builtins). Define or "
                    "import it, or fix the spelling."
                ),
                file=finding.file,
                line=finding.line,
                end_line=finding.end_line,
                details=finding.details,
            )
        )
    return found


def check_contracts(
    contracts: Sequence[AtomContract], atoms: Sequence[CodeAtom], sources: dict[str, str]
) -> list[Finding]:
    """L1 against a plan: each planned atom exists in its file with its planned kind and signature.

    Undefined names are left out: the whole-project check reports them once.
    """
    found: list[Finding] = []
    for contract in contracts:
        source = sources.get(contract.file)
        atom = next((a for a in atoms if a.id == contract.key), None)
        if source is None or atom is None:
            where = "its file does not exist" if source is None else "it is not defined there"
            found.append(
                Finding(
                    level=Level.ATOM,
                    code=Code.WRONG_SYMBOL,
                    message=f"planned {contract.kind} {contract.qualified_name}: {where}",
                    feedback=f"Define {contract.kind} `{contract.qualified_name}` in {contract.file}.",
                    file=contract.file,
                    atom_keys=(contract.key,),
                )
            )
            continue
        code = source.encode()[atom.start_byte : atom.end_byte].decode("utf-8", "replace")
        found.extend(
            f
            for f in check_atom(contract, code, file_source=source)
            if f.code != Code.UNDEFINED_NAME
        )
    return found


def validate_project(
    root: Path,
    *,
    limits: SandboxLimits | None = None,
    lint: bool = True,
    contracts: Sequence[AtomContract] = (),
) -> ProjectReport:
    """Run L1 to L3 on the project in `root` and map every failure to the atom responsible.

    With `contracts` (a plan), level 1 also checks each planned atom's symbol and signature.
    """
    files = python_files(root)
    atoms, findings, sources = _read(root, files)
    findings.extend(check_contracts(contracts, atoms, sources))
    findings.extend(_undefined(root))
    modules = [m for m in (module_name(f) for f in files) if m]
    tests = [f for f in files if is_test_file(f) and PurePosixPath(f).name != "conftest.py"]
    task = check_task(root, modules=modules, test_paths=tests, limits=limits)
    findings.extend(task.findings)
    if lint:
        known = {*UNDEFINED_RULES, SYNTAX_RULE}  # reported at level 1 already
        findings.extend(lint_finding(d) for d in lint_project(root) if d.rule not in known)
    blamed = blame(findings, atoms, sources)
    return ProjectReport(tuple(blamed), tuple(atoms), task.outcomes, task.coverage)
