"""Running the project's imports and tests inside the sandbox, and reading back what happened.

The sandbox deletes its copy when the program ends, so the small drivers below print their report
(JUnit XML, coverage, import errors) as JSON after a marker line on stdout.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devmatrix.code.atoms import CodeAtom
from devmatrix.sandbox import SandboxLimits, SandboxResult, run_in_sandbox
from devmatrix.validation.pytest_report import TestOutcome, parse_junit, parse_summary

MARKER = "@@devmatrix-report@@"
STARTED = "@@devmatrix-importing@@ "
# Reports can be large (a JUnit file with tracebacks); the sandbox keeps head and tail of output.
REPORT_OUTPUT_BYTES = 4 << 20

_IMPORT_DRIVER = """
import importlib, json, os, sys, traceback
root = os.getcwd()  # module code may chdir; paths are reported relative to the project
sys.path[:0] = [root] + ([os.path.abspath("src")] if os.path.isdir("src") else [])
report = {}
for name in json.loads(sys.argv[1]):
    print("\\n" + STARTED + name, flush=True)
    try:
        importlib.import_module(name)
        report[name] = None
    except BaseException as exc:
        frames = [[os.path.relpath(f.filename, root), f.lineno, f.name]
                  for f in traceback.extract_tb(exc.__traceback__)]
        if isinstance(exc, SyntaxError) and exc.filename:
            frames.append([os.path.relpath(exc.filename, root), exc.lineno or 1, "<module>"])
        report[name] = {"type": type(exc).__name__, "message": str(exc), "frames": frames,
                        "traceback": "".join(traceback.format_exception_only(exc))[-2000:]}
print("\\n" + MARKER + json.dumps(report))
""".replace("MARKER", repr(MARKER)).replace("STARTED", repr(STARTED))

_PYTEST_DRIVER = """
import json, os, sys
options = json.loads(sys.argv[1])
root = os.getcwd()  # tests may chdir; paths are reported relative to the project
sys.path[:0] = [root] + ([os.path.abspath("src")] if os.path.isdir("src") else [])
cov = None
if options["coverage"]:
    try:
        import coverage
        cov = coverage.Coverage(data_file=None, source=[root])
        cov.start()
    except ImportError:
        cov = None
import pytest
junit = os.path.join(root, ".devmatrix-junit.xml")
code = pytest.main([*options["args"], "--junitxml", junit, "-o", "junit_family=xunit1",
                    "--", *options["paths"]])
report = {"exit": int(code), "coverage": None, "junit": None}
if cov is not None:
    cov.stop()
    files = {}
    for path in cov.get_data().measured_files():
        rel = os.path.relpath(path, root)
        if rel.startswith(".."):
            continue
        try:
            _, statements, _, missing, _ = cov.analysis2(path)
        except Exception:  # a measured file coverage cannot read as source: no figure for it
            continue
        files[rel] = {"statements": statements, "missing": missing}
    report["coverage"] = files
if os.path.exists(junit):
    with open(junit, encoding="utf-8", errors="replace") as handle:
        report["junit"] = handle.read()
sys.stdout.flush()
print("\\n" + MARKER + json.dumps(report))
""".replace("MARKER", repr(MARKER))

_RUNNING = re.compile(
    r"^(?P<nodeid>\S+\.py::\S+)(?: +(?P<outcome>PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b.*)?[ \t]*$",
    re.M,
)


@dataclass(frozen=True)
class FileCoverage:
    """Executable lines of one file and those no test executed."""

    statements: frozenset[int]
    missing: frozenset[int]

    def fraction(self, start_line: int, end_line: int) -> float | None:
        """Executed share of the statements in `start_line..end_line`; None when it has none."""
        inside = [n for n in self.statements if start_line <= n <= end_line]
        if not inside:
            return None
        return sum(1 for n in inside if n not in self.missing) / len(inside)


def atom_coverage(coverage: dict[str, FileCoverage] | None, atom: CodeAtom) -> float | None:
    """Executed share of an atom's statements; a function's `def` line (run at import) not counted."""
    if not coverage or atom.file not in coverage:
        return None
    start = atom.start_line
    if atom.kind in ("function", "method", "test"):
        start += atom.signature.count("\n") + 1
    return coverage[atom.file].fraction(start, atom.end_line)


@dataclass(frozen=True)
class ImportProblem:
    """Why a module failed to import, with traceback frames relative to the project."""

    module: str
    error_type: str
    message: str
    frames: tuple[tuple[str, int, str], ...]
    text: str


@dataclass(frozen=True)
class TestRun:
    """One sandboxed pytest run: outcomes, per-file coverage (None if not measured), the raw result."""

    __test__ = False  # not a pytest test class, despite the name

    outcomes: tuple[TestOutcome, ...]
    coverage: dict[str, FileCoverage] | None
    result: SandboxResult
    exit_code: int | None
    output: str = field(repr=False, default="")

    @property
    def stopped(self) -> bool:
        """True when the sandbox stopped the run (timeout or a limit) before pytest finished."""
        return (
            self.result.timed_out or self.result.killed_reason is not None or self.exit_code is None
        )

    def last_started(self) -> str | None:
        """Node id of the test that was running when the run was stopped (verbose output)."""
        started = list(_RUNNING.finditer(self.output))
        if started and started[-1]["outcome"] is None:
            return started[-1]["nodeid"]
        return None


def _report(stdout: str) -> dict[str, Any] | None:
    _, found, tail = stdout.rpartition(MARKER)
    if not found:
        return None
    try:
        data = json.loads(tail.strip().splitlines()[0]) if tail.strip() else None
    except json.JSONDecodeError:
        return None  # cut by the output limit: treated like a run that printed no report
    return data if isinstance(data, dict) else None


def _limits(limits: SandboxLimits | None) -> SandboxLimits:
    base = limits or SandboxLimits()
    if base.max_output_bytes >= REPORT_OUTPUT_BYTES:
        return base
    return SandboxLimits(**{**base.__dict__, "max_output_bytes": REPORT_OUTPUT_BYTES})


@dataclass(frozen=True)
class ImportRun:
    """Modules imported in one sandboxed interpreter: the failures, and how the run ended.

    `stuck` is the module being imported when the run was stopped (no report was printed).
    """

    problems: dict[str, ImportProblem]
    result: SandboxResult
    finished: bool
    stuck: str | None = None


def import_modules(
    project: Path, modules: Sequence[str], limits: SandboxLimits | None = None
) -> ImportRun:
    """Import each module in one sandboxed interpreter and report each failure with its frames."""
    argv = [sys.executable, "-c", _IMPORT_DRIVER, json.dumps(list(modules))]
    result = run_in_sandbox(project, argv, _limits(limits))
    report = _report(result.stdout)
    if report is None:
        started = [line for line in result.stdout.splitlines() if line.startswith(STARTED)]
        stuck = started[-1].removeprefix(STARTED) if started else None
        return ImportRun({}, result, finished=False, stuck=stuck)
    problems = {}
    for module, problem in report.items():
        if isinstance(problem, dict):
            problems[module] = ImportProblem(
                module=module,
                error_type=str(problem.get("type", "")),
                message=str(problem.get("message", "")),
                frames=tuple((str(f[0]), int(f[1]), str(f[2])) for f in problem.get("frames", [])),
                text=str(problem.get("traceback", "")),
            )
    return ImportRun(problems, result, finished=True)


def run_tests(
    project: Path,
    test_paths: Sequence[str],
    limits: SandboxLimits | None = None,
    *,
    measure_coverage: bool = True,
    plugins: Sequence[str] = (),
) -> TestRun:
    """Run pytest on `test_paths` in the sandbox with short tracebacks, a JUnit report and coverage.

    Only the pytest `plugins` named (e.g. "asyncio") are loaded, not every installed one.
    """
    args = ["-v", "--tb=short", "-rA", "-p", "no:cacheprovider"]
    args += [arg for name in plugins for arg in ("-p", name)]
    options = json.dumps({"args": args, "paths": list(test_paths), "coverage": measure_coverage})
    argv = [sys.executable, "-c", _PYTEST_DRIVER, options]
    # Plugins installed next to the engine (hypothesis, pytest-lsp...) cost seconds per run to
    # load and are not the generated project's; only the ones asked for are loaded.
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = run_in_sandbox(project, argv, _limits(limits), extra_env=env)
    output = result.stdout.rpartition(MARKER)[0] if MARKER in result.stdout else result.stdout
    report = _report(result.stdout)
    if report is None:
        outcomes = parse_summary(output)
        return TestRun(tuple(outcomes), None, result, None, output + result.stderr)
    junit = report.get("junit")
    outcomes = parse_junit(junit) if isinstance(junit, str) and junit else parse_summary(output)
    raw_cov = report.get("coverage")
    coverage = (
        {
            file: FileCoverage(frozenset(v["statements"]), frozenset(v["missing"]))
            for file, v in raw_cov.items()
        }
        if isinstance(raw_cov, dict)
        else None
    )
    return TestRun(
        tuple(outcomes), coverage, result, int(report.get("exit", 1)), output + result.stderr
    )
