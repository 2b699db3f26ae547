"""Writing validation results to the database: one row per finding and blamed atom, and a
passing row per atom and level, so an atom's history of checks can be read back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlmodel import Session

from devmatrix.storage.models import AcceptanceTest, AcceptanceTestResult, ValidationResult
from devmatrix.validation.acceptance import AcceptanceOutcome
from devmatrix.validation.findings import Finding, Level


def finding_rows(
    *,
    plan_id: int,
    findings: Iterable[Finding],
    atom_ids: Mapping[str, int],
    task_id: int | None = None,
    run_id: int | None = None,
) -> list[ValidationResult]:
    """One failed row per finding and blamed atom (`atom_ids` maps atom keys to row ids)."""
    rows = []
    for finding in findings:
        ids: list[int | None] = [atom_ids[k] for k in finding.atom_keys if k in atom_ids]
        for atom_id in ids or [None]:
            rows.append(
                ValidationResult(
                    plan_id=plan_id,
                    atom_id=atom_id,
                    task_id=task_id,
                    run_id=run_id,
                    level=int(finding.level),
                    code=str(finding.code),
                    passed=False,
                    message=finding.message[:2000],
                    file=finding.file,
                    line=finding.line,
                    details={
                        **finding.details,
                        "feedback": finding.feedback,
                        "end_line": finding.end_line,
                        "atom_keys": list(finding.atom_keys),
                    },
                )
            )
    return rows


def pass_rows(
    *,
    plan_id: int,
    level: Level,
    atom_ids: Iterable[int],
    task_id: int | None = None,
    run_id: int | None = None,
) -> list[ValidationResult]:
    """A passing row (`L<n>-passed`) for each atom that passed `level`."""
    return [
        ValidationResult(
            plan_id=plan_id,
            atom_id=atom_id,
            task_id=task_id,
            run_id=run_id,
            level=int(level),
            code=f"L{int(level)}-passed",
            passed=True,
        )
        for atom_id in atom_ids
    ]


def record_findings(
    session: Session,
    *,
    plan_id: int,
    findings: Iterable[Finding],
    atom_ids: Mapping[str, int],
    task_id: int | None = None,
    run_id: int | None = None,
) -> list[ValidationResult]:
    """Add one failed row per finding and blamed atom (`atom_ids` maps atom keys to row ids)."""
    rows = finding_rows(
        plan_id=plan_id, findings=findings, atom_ids=atom_ids, task_id=task_id, run_id=run_id
    )
    session.add_all(rows)
    session.flush()
    return rows


def record_passes(
    session: Session,
    *,
    plan_id: int,
    level: Level,
    atom_ids: Iterable[int],
    task_id: int | None = None,
    run_id: int | None = None,
) -> list[ValidationResult]:
    """Add a passing row (`L<n>-passed`) for each atom that passed `level`."""
    rows = pass_rows(
        plan_id=plan_id, level=level, atom_ids=atom_ids, task_id=task_id, run_id=run_id
    )
    session.add_all(rows)
    session.flush()
    return rows


def record_acceptance(
    session: Session,
    *,
    tests: Iterable[AcceptanceTest],
    outcomes: Iterable[AcceptanceOutcome],
    run_id: int | None = None,
) -> list[AcceptanceTestResult]:
    """Add a result row for each stored acceptance test that ran (matched by file, then name).

    A test file with several test functions passes only when all of them passed.
    """
    by_file: dict[str, list[AcceptanceOutcome]] = {}
    for outcome in outcomes:
        by_file.setdefault(outcome.test.split("::", 1)[0], []).append(outcome)
    rows = []
    for test in tests:
        ran = by_file.get(test.file) or [
            o for group in by_file.values() for o in group if o.test.endswith(f"::{test.name}")
        ]
        if not ran or test.id is None:
            continue
        row = AcceptanceTestResult(
            test_id=test.id,
            run_id=run_id,
            passed=all(o.passed for o in ran),
            output="\n".join(o.output for o in ran if not o.passed)[:20000],
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
