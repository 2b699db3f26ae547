"""Mapping a failure back to the atoms responsible, and turning it into their next prompt.

A finding with a file and line goes to the innermost atom around that line. A test failure goes
to the innermost traceback frame inside a generated, non-test file; when the failure is raised
in the test itself (a wrong return value), it goes to the atom the test exercises, found from the
names the test uses and its own name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from devmatrix.code.atoms import CodeAtom
from devmatrix.validation.findings import Finding, trim_output

FEEDBACK_LIMIT = 4000
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def is_test_file(path: str) -> bool:
    """True for pytest's test modules (test_*.py, *_test.py, conftest.py, files under tests/)."""
    p = PurePosixPath(path)
    return (
        p.name.startswith("test_")
        or p.stem.endswith("_test")
        or p.name == "conftest.py"
        or "tests" in p.parts[:-1]
    )


def atom_at(atoms: Sequence[CodeAtom], file: str, line: int) -> CodeAtom | None:
    """The innermost atom of `file` whose lines contain `line` (a method rather than its class)."""
    around = [a for a in atoms if a.file == file and a.start_line <= line <= a.end_line]
    return min(around, key=lambda a: a.end_line - a.start_line, default=None)


def _words(text: str) -> str:
    return _CAMEL.sub("_", text).lower()


def atom_under_test(
    atoms: Sequence[CodeAtom], test_name: str, test_file: str | None = None
) -> CodeAtom | None:
    """The non-test atom a test exercises: among those it uses, the one its name mentions most."""
    test_atom = next(
        (a for a in atoms if a.name == test_name and (test_file is None or a.file == test_file)),
        None,
    )
    used = {r.rpartition(".")[2] for r in test_atom.references} if test_atom else set()
    subject = _words(test_name.removeprefix("test"))
    module = PurePosixPath(test_file).stem.removeprefix("test_") if test_file else ""

    def score(atom: CodeAtom) -> tuple[int, int, int]:
        parts = [_words(p) for p in atom.qualified_name.split(".")]
        named = sum(len(p) for p in parts if p in subject) if parts[-1] in subject else 0
        uses = 1 if (atom.name in used or atom.qualified_name.split(".")[0] in used) else 0
        return (uses + (1 if named else 0), named, int(PurePosixPath(atom.file).stem == module))

    candidates = [
        a
        for a in atoms
        if a.kind not in ("test", "imports") and not is_test_file(a.file) and score(a)[0] > 0
    ]
    return max(candidates, key=score, default=None)


def _frames(finding: Finding) -> list[tuple[str, int]]:
    raw = finding.details.get("frames") or []
    return [(str(f[0]), int(f[1])) for f in raw if isinstance(f, list | tuple) and len(f) >= 2]


def _quote(sources: Mapping[str, str], file: str, line: int) -> str:
    lines = sources.get(file, "").splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _where(atom: CodeAtom, file: str, line: int, sources: Mapping[str, str], raised: bool) -> str:
    quoted = _quote(sources, file, line)
    verb = "raised the error" if raised else "is where it was reported"
    text = f"Line {line} of {file}, inside `{atom.qualified_name}`, {verb}"
    return f"{text}:\n    {quoted}" if quoted else f"{text}."


def blame_one(
    finding: Finding, atoms: Sequence[CodeAtom], sources: Mapping[str, str] | None = None
) -> Finding:
    """The finding mapped to its atoms, its feedback extended with where in them it failed."""
    if finding.atom_keys:
        return finding
    sources = sources or {}
    known = {a.file for a in atoms}
    frames = [f for f in _frames(finding) if f[0] in known]
    # The innermost frame in generated code (not a test) is where it went wrong; outer frames
    # are only callers. A line outside every atom (a file that does not parse) blames no one.
    generated = [(file, line) for file, line in frames if not is_test_file(file)]
    if generated:
        file, line = generated[-1]
        atom = atom_at(atoms, file, line)
        if atom is None:
            return finding
        note = _where(atom, file, line, sources, raised=True)
        return _mapped(finding, (atom,), note, file, line)
    test_name = str(finding.details.get("test_name") or "")
    if test_name:
        test_file = str(finding.details.get("test_file") or "") or None
        subject = atom_under_test(atoms, test_name, test_file)
        if subject is not None:
            note = (
                f"The test `{test_name}` exercises `{subject.qualified_name}` ({subject.file}); "
                f"the check failed in the test itself, so what `{subject.name}` returns or does "
                "is not what the test expects."
            )
            return _mapped(finding, (subject,), note, subject.file, subject.start_line)
    if finding.file and finding.line:
        atom = atom_at(atoms, finding.file, finding.line)
        if atom is not None:
            note = _where(atom, finding.file, finding.line, sources, raised=False)
            return _mapped(finding, (atom,), note, finding.file, finding.line)
    return finding


def _mapped(
    finding: Finding, atoms: Iterable[CodeAtom], note: str, file: str, line: int
) -> Finding:
    keys = tuple(dict.fromkeys(a.id for a in atoms))
    # The finding now points at the code to change; where it was reported (a test) is kept.
    moved = (finding.file, finding.line) != (file, line)
    reported = {"reported_file": finding.file, "reported_line": finding.line} if moved else {}
    return replace(
        finding,
        atom_keys=keys,
        feedback=f"{finding.feedback}\n{note}",
        file=file,
        line=line,
        end_line=finding.end_line if not moved else None,
        details={**finding.details, **reported},
    )


def blame(
    findings: Iterable[Finding], atoms: Sequence[CodeAtom], sources: Mapping[str, str] | None = None
) -> list[Finding]:
    """Every finding mapped to the atoms responsible where that can be told; the rest unchanged."""
    return [blame_one(f, atoms, sources) for f in findings]


def by_atom(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings grouped by blamed atom key (a finding blamed on two atoms appears under both)."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        for key in finding.atom_keys:
            grouped.setdefault(key, []).append(finding)
    return grouped


def feedback_for_atom(key: str, findings: Iterable[Finding], *, limit: int = FEEDBACK_LIMIT) -> str:
    """The next prompt's feedback section for one atom: every finding blamed on it, bounded in size."""
    mine = [f for f in findings if key in f.atom_keys]
    if not mine:
        return ""
    name = key.partition("::")[2] or key
    head = (
        f"Your previous code for `{name}` failed validation ({len(mine)} problem"
        f"{'s' if len(mine) > 1 else ''}). Fix every problem below and answer with the whole "
        "corrected definition only.\n"
    )
    share = max((limit - len(head)) // len(mine), 200)
    parts = [
        f"\n[{f.code}] {trim_output(f.feedback, max_lines=30, max_chars=share - len(str(f.code)) - 4)}"
        for f in mine
    ]
    text = head + "".join(parts)
    return text if len(text) <= limit else text[: limit - 20] + "\n... (cut)"
