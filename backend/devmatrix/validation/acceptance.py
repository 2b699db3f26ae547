"""Level 4, the plan: acceptance tests (one file per requirement) run in the sandbox, and the
acceptance gate gives each requirement a verdict: pass, fail, or no tests.

A test belongs to the requirement its file or name mentions: `test_req_3.py`, `test_req3_*`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from devmatrix.sandbox import SandboxLimits
from devmatrix.validation.findings import Code, Finding, Level
from devmatrix.validation.in_sandbox import run_tests
from devmatrix.validation.levels import failed_test_finding, stopped_finding
from devmatrix.validation.pytest_report import TestOutcome

_REQ = re.compile(r"req[_-]?(\d+)", re.I)


class VerdictStatus(StrEnum):
    """The gate's answer for one requirement."""

    PASS = "pass"  # noqa: S105  # a verdict, not a password
    FAIL = "fail"
    NO_TESTS = "no-tests"


@dataclass(frozen=True)
class AcceptanceOutcome:
    """One acceptance test's result, tied to the requirement it checks."""

    requirement: str
    test: str
    passed: bool
    output: str = ""


@dataclass(frozen=True)
class Verdict:
    """A requirement's verdict, with how many of its tests passed and which failed."""

    requirement: str
    status: VerdictStatus
    passed: int = 0
    failed: int = 0
    failing: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class AcceptanceReport:
    """L4 findings, the outcome of each acceptance test, and the gate's verdicts."""

    findings: tuple[Finding, ...]
    outcomes: tuple[AcceptanceOutcome, ...]
    verdicts: dict[str, Verdict]

    @property
    def passed(self) -> bool:
        """True when every requirement passed (a requirement with no tests does not pass)."""
        return all(v.status == VerdictStatus.PASS for v in self.verdicts.values())


def requirement_of(name: str) -> str | None:
    """The requirement code (`REQ-3`) named by a test file or test name, or None."""
    match = _REQ.search(Path(name).name) or _REQ.search(name)
    return f"REQ-{int(match.group(1))}" if match else None


def acceptance_gate(
    results: Iterable[AcceptanceOutcome], requirements: Iterable[str] = ()
) -> dict[str, Verdict]:
    """Verdict per requirement: fail if any of its tests failed, pass if some passed, else no tests."""
    passed: dict[str, int] = dict.fromkeys(requirements, 0)
    failing: dict[str, list[str]] = {r: [] for r in passed}
    for outcome in results:
        passed.setdefault(outcome.requirement, 0)
        failing.setdefault(outcome.requirement, [])
        if outcome.passed:
            passed[outcome.requirement] += 1
        else:
            failing[outcome.requirement].append(outcome.test)
    verdicts = {}
    for req in sorted(passed, key=_req_order):
        status = (
            VerdictStatus.FAIL
            if failing[req]
            else VerdictStatus.PASS
            if passed[req]
            else VerdictStatus.NO_TESTS
        )
        verdicts[req] = Verdict(req, status, passed[req], len(failing[req]), tuple(failing[req]))
    return verdicts


def _req_order(code: str) -> tuple[int, str]:
    digits = "".join(c for c in code if c.isdigit())
    return (int(digits) if digits else 1 << 30, code)


def _outcome(outcome: TestOutcome) -> AcceptanceOutcome | None:
    req = requirement_of(outcome.file or "") or requirement_of(outcome.nodeid)
    if req is None or outcome.outcome == "skipped":
        return None
    return AcceptanceOutcome(req, outcome.nodeid, not outcome.failed, outcome.text)


def check_plan(
    project: Path,
    test_paths: Sequence[str],
    *,
    requirements: Iterable[str] = (),
    limits: SandboxLimits | None = None,
) -> AcceptanceReport:
    """L4: run the acceptance test files in the sandbox and apply the gate to their outcomes."""
    run = run_tests(project, test_paths, limits, measure_coverage=False)
    outcomes = tuple(o for o in (_outcome(t) for t in run.outcomes) if o is not None)
    findings = []
    for test in run.outcomes:
        req = requirement_of(test.file or "") or requirement_of(test.nodeid)
        if test.failed:
            found = failed_test_finding(Level.PLAN, test)
            findings.append(
                replace(
                    found,
                    code=Code.ACCEPTANCE_FAILED,
                    message=f"{req or 'no requirement'}: {found.message}",
                    details={**found.details, "requirement": req},
                )
            )
    if run.result.timed_out or run.result.killed_reason:
        findings.append(stopped_finding(Level.PLAN, run))
    return AcceptanceReport(tuple(findings), outcomes, acceptance_gate(outcomes, requirements))
