"""Ruff as the linter and the undefined-name checker. It only reads files, so it runs outside the sandbox.

Written by hand: nothing; this module finds the `ruff` binary, runs it and reads its JSON output.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devmatrix.errors import DevMatrixError

RUFF_TIMEOUT_SECONDS = 60.0
SYNTAX_RULE = "syntax"  # ruff gives a file that does not parse no rule code


class ValidationToolMissing(DevMatrixError):
    """A tool the validators need (ruff) is not installed."""


@dataclass(frozen=True)
class LintDiagnostic:
    """One ruff diagnostic: rule code, message, file (relative to the checked folder) and lines."""

    rule: str
    message: str
    file: str
    line: int
    end_line: int
    column: int


def ruff_binary() -> str:
    """Path of the ruff executable: next to this interpreter first, then on PATH."""
    beside = Path(sys.executable).parent / "ruff"
    if beside.is_file():
        return str(beside)
    found = shutil.which("ruff")
    if found is None:
        raise ValidationToolMissing(
            "ruff is not installed; lint and undefined-name checks need it.",
            "Install it with: pip install ruff",
        )
    return found


def _parse(output: str, root: Path | None) -> list[LintDiagnostic]:
    try:
        raw = json.loads(output or "[]")
    except json.JSONDecodeError as exc:
        raise DevMatrixError(f"ruff printed something that is not JSON: {output[:200]!r}") from exc
    found = []
    for item in raw:
        file = Path(item.get("filename") or "")
        if root is not None and file.is_absolute():
            # A file outside the root keeps its absolute path.
            with contextlib.suppress(ValueError):
                file = file.relative_to(root.resolve())
        location = item.get("location") or {}
        end = item.get("end_location") or location
        found.append(
            LintDiagnostic(
                rule=str(item.get("code") or SYNTAX_RULE),
                message=str(item.get("message", "")),
                file=file.as_posix(),
                line=int(location.get("row", 1)),
                end_line=int(end.get("row", location.get("row", 1))),
                column=int(location.get("column", 1)),
            )
        )
    return found


def _run(args: list[str], *, cwd: Path, stdin: str | None = None) -> str:
    try:
        done = subprocess.run(
            [ruff_binary(), "check", "--no-cache", "--output-format", "json", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=RUFF_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DevMatrixError(f"ruff took more than {RUFF_TIMEOUT_SECONDS:.0f}s in {cwd}") from exc
    if done.returncode not in (0, 1):
        raise DevMatrixError(
            f"ruff failed: {done.stderr.strip()[:500]}", "Check the ruff configuration."
        )
    return done.stdout


def check_source(source: str, *, filename: str, select: tuple[str, ...]) -> list[LintDiagnostic]:
    """Run the given ruff rules on one file's text (ignores any project configuration)."""
    output = _run(
        ["--isolated", "--select", ",".join(select), "--stdin-filename", filename, "-"],
        cwd=Path.cwd(),
        stdin=source,
    )
    return [
        LintDiagnostic(d.rule, d.message, filename, d.line, d.end_line, d.column)
        for d in _parse(output, None)
    ]


def lint_project(root: Path, *, select: tuple[str, ...] | None = None) -> list[LintDiagnostic]:
    """Lint a project folder with its own ruff configuration (or ruff's defaults), or `select` rules."""
    args = ["--select", ",".join(select)] if select else []
    if not has_own_ruff_config(root):
        # Otherwise ruff would climb to a parent folder's configuration (say, the repository the
        # output folder happens to sit in) and judge the project by someone else's rules.
        args.append("--isolated")
    return _parse(_run([*args, "."], cwd=root), root)


def has_own_ruff_config(root: Path) -> bool:
    """True when the project itself configures ruff (ruff.toml, .ruff.toml or [tool.ruff])."""
    if (root / "ruff.toml").is_file() or (root / ".ruff.toml").is_file():
        return True
    pyproject = root / "pyproject.toml"
    return pyproject.is_file() and "[tool.ruff" in pyproject.read_text(
        encoding="utf-8", errors="replace"
    )
