"""Level 2 (a task: its files import, its unit tests pass) and level 3 (a milestone: the package
imports as a whole, all tests so far pass, lint is clean), as findings.

Imports and tests run in the sandbox; lint reads files only and runs outside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from devmatrix.sandbox import SandboxLimits
from devmatrix.validation.findings import Code, Finding, Level, trim_output
from devmatrix.validation.in_sandbox import (
    FileCoverage,
    ImportProblem,
    ImportRun,
    TestRun,
    import_modules,
    run_tests,
)
from devmatrix.validation.lint import LintDiagnostic, lint_project
from devmatrix.validation.pytest_report import TestOutcome

# pytest's exit codes that mean "it ran": tests passed (0), some failed (1), none collected (5).
_RAN = (0, 1, 5)


@dataclass(frozen=True)
class LevelReport:
    """What one level found, plus the test outcomes and coverage that confidence is computed from."""

    level: Level
    findings: tuple[Finding, ...]
    outcomes: tuple[TestOutcome, ...] = ()
    coverage: dict[str, FileCoverage] | None = None

    @property
    def passed(self) -> bool:
        """True when nothing failed at this level."""
        return not self.findings


def _project_frames(frames: Sequence[tuple[str, int, str]]) -> list[list[object]]:
    return [[f, n, fn] for f, n, fn in frames if not f.startswith(("..", "<", "/"))]


def import_finding(level: Level, problem: ImportProblem) -> Finding:
    """One module that does not import, with its innermost project frame as the location."""
    frames = _project_frames(problem.frames)
    file, line = (str(frames[-1][0]), int(str(frames[-1][1]))) if frames else (None, None)
    code = Code.TASK_IMPORT_ERROR if level == Level.TASK else Code.PACKAGE_IMPORT_ERROR
    return Finding(
        level=level,
        code=code,
        message=f"import {problem.module}: {problem.error_type}: {problem.message}",
        feedback=(
            f"Importing `{problem.module}` fails with {problem.error_type}: {problem.message}\n"
            f"{trim_output(problem.text, max_lines=12)}\n"
            "Module-level code runs at import: every name it uses must be defined or imported "
            "above it, and imports must name modules and symbols that exist in the project."
        ),
        file=file,
        line=line,
        details={"module": problem.module, "frames": frames, "error_type": problem.error_type},
    )


def import_findings(level: Level, problems: Iterable[ImportProblem]) -> list[Finding]:
    """One finding per distinct cause: modules failing on the same line of the same file are one
    problem (reported under the module that file is)."""
    findings = [import_finding(level, p) for p in problems]
    findings.sort(key=lambda f: not _own_file(f))
    seen: set[tuple[str | None, int | None, str]] = set()
    distinct = []
    for finding in findings:
        key = (finding.file, finding.line, str(finding.details.get("error_type")))
        if finding.file is None or key not in seen:
            distinct.append(finding)
            seen.add(key)
    return distinct


def _own_file(finding: Finding) -> bool:
    module = str(finding.details.get("module", ""))
    path = (finding.file or "").removeprefix("src/").removesuffix(".py").removesuffix("/__init__")
    return path.replace("/", ".") == module


def stuck_import_finding(level: Level, run: ImportRun) -> Finding:
    """The import run printed no report: a module hung, broke a limit or killed the interpreter."""
    result = run.result
    module = f"`{run.stuck}`" if run.stuck else "the modules"
    if result.timed_out:
        code, what = Code.SANDBOX_TIMEOUT, "did not finish in time"
        advice = "Module-level code must not loop or wait (network, input(), sleep) at import."
    elif result.killed_reason:
        code, what = Code.SANDBOX_LIMIT, f"was stopped by the sandbox: {result.killed_reason}"
        advice = (
            "Module-level code must not use the network, write outside its folder or hog memory."
        )
    else:
        code = Code.TASK_IMPORT_ERROR if level == Level.TASK else Code.PACKAGE_IMPORT_ERROR
        what, advice = "ended the interpreter", "Module-level code must not exit the process."
    return Finding(
        level=level,
        code=code,
        message=f"importing {module} {what}",
        feedback=f"Importing {module} {what}.\n{result.feedback(1500)}\n{advice}",
        details={"module": run.stuck, "killed_reason": result.killed_reason},
    )


def failed_test_finding(level: Level, outcome: TestOutcome) -> Finding:
    """One failed test, with its traceback frames kept for blame."""
    code = Code.TASK_TEST_FAILED if level == Level.TASK else Code.MILESTONE_TEST_FAILED
    frames = [[f.file, f.line, f.function] for f in outcome.frames()]
    what = "errors" if outcome.outcome == "error" else "fails"
    return Finding(
        level=level,
        code=code,
        message=f"{outcome.nodeid} {what}: {outcome.message or outcome.outcome}"[:300],
        feedback=(
            f"The test `{outcome.nodeid}` {what}: {outcome.message}\n"
            f"{trim_output(outcome.text, max_lines=30, max_chars=1800)}\n"
            "Change the code under test so that this test passes; the test states the required "
            "behaviour."
        ),
        file=outcome.file,
        line=outcome.line,
        details={
            "nodeid": outcome.nodeid,
            "test_name": outcome.name,
            "test_file": outcome.file,
            "frames": frames,
        },
    )


def stopped_finding(level: Level, run: TestRun) -> Finding:
    """The sandbox stopped the run: a timeout, or a resource / protection limit."""
    result = run.result
    running = run.last_started()
    test_name = running.rsplit("::", 1)[-1].split("[", 1)[0] if running else ""
    test_file = running.split("::", 1)[0] if running else None
    where = f"the test `{running}`" if running else "the tests"
    if result.timed_out:
        code = Code.SANDBOX_TIMEOUT
        message = f"{where} did not finish in time and were stopped"
        advice = (
            "Look for a loop that never ends or a call that waits forever (network, input(), "
            "sleep) in the code it exercises."
        )
    else:
        code = Code.SANDBOX_LIMIT
        message = f"{where} were stopped by the sandbox: {result.killed_reason or 'crashed'}"
        advice = (
            "Generated code must not open network connections, write outside its folder, start "
            "many processes or allocate huge amounts of memory."
        )
    return Finding(
        level=level,
        code=code,
        message=message,
        feedback=f"While running {where}: {result.feedback(1500)}\n{advice}",
        details={
            "test_name": test_name,
            "test_file": test_file,
            "killed_reason": result.killed_reason,
            "timed_out": result.timed_out,
        },
    )


def run_findings(level: Level, run: TestRun) -> list[Finding]:
    """Findings of a test run: each failed test; a stopped run; pytest itself failing."""
    findings = [failed_test_finding(level, o) for o in run.outcomes if o.failed]
    if run.stopped and (run.result.timed_out or run.result.killed_reason):
        findings.append(stopped_finding(level, run))
    elif run.exit_code not in _RAN and not findings:
        code = Code.TASK_TEST_FAILED if level == Level.TASK else Code.MILESTONE_TEST_FAILED
        output = trim_output(run.output, max_lines=30)
        findings.append(
            Finding(
                level=level,
                code=code,
                message=f"pytest could not run the tests (exit status {run.exit_code})",
                feedback=f"pytest could not run the tests:\n{output}",
                details={"exit_code": run.exit_code},
            )
        )
    return findings


def lint_finding(diag: LintDiagnostic) -> Finding:
    """One lint diagnostic as an L3 finding."""
    return Finding(
        level=Level.MILESTONE,
        code=Code.LINT,
        message=f"{diag.rule} {diag.message}",
        feedback=(
            f"The linter (ruff) reports {diag.rule} at {diag.file}:{diag.line}: {diag.message}. "
            "Fix it in your code; do not add `noqa` comments."
        ),
        file=diag.file,
        line=diag.line,
        end_line=diag.end_line,
        details={"rule": diag.rule, "column": diag.column},
    )


def check_task(
    project: Path,
    *,
    modules: Sequence[str],
    test_paths: Sequence[str],
    limits: SandboxLimits | None = None,
) -> LevelReport:
    """L2: the task's modules import and its unit tests pass (tests skipped if imports fail)."""
    imported = import_modules(project, modules, limits)
    if not imported.finished:
        return LevelReport(Level.TASK, (stuck_import_finding(Level.TASK, imported),))
    if imported.problems:
        findings = import_findings(Level.TASK, imported.problems.values())
        return LevelReport(Level.TASK, tuple(findings))
    if not test_paths:
        return LevelReport(Level.TASK, ())
    run = run_tests(project, test_paths, limits)
    return LevelReport(Level.TASK, tuple(run_findings(Level.TASK, run)), run.outcomes, run.coverage)


def check_milestone(
    project: Path,
    *,
    modules: Sequence[str],
    test_paths: Sequence[str],
    limits: SandboxLimits | None = None,
    lint: bool = True,
) -> LevelReport:
    """L3: every module of the package imports, all tests so far pass, and ruff finds nothing."""
    imported = import_modules(project, modules, limits)
    findings = import_findings(Level.MILESTONE, imported.problems.values())
    if not imported.finished:
        findings.append(stuck_import_finding(Level.MILESTONE, imported))
    outcomes: tuple[TestOutcome, ...] = ()
    coverage = None
    if imported.finished and not imported.problems and test_paths:
        run = run_tests(project, test_paths, limits)
        findings.extend(run_findings(Level.MILESTONE, run))
        outcomes, coverage = run.outcomes, run.coverage
    if lint:
        findings.extend(lint_finding(d) for d in lint_project(project))
    return LevelReport(Level.MILESTONE, tuple(findings), outcomes, coverage)
