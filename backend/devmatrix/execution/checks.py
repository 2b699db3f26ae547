"""Levels 2-4 on the files written so far: a task's imports and unit tests, a milestone's whole
package, tests and lint, and the plan's acceptance tests with a verdict per requirement.

A failure is blamed on atoms by line range and traceback; those atoms are generated again with
the failure as feedback (within their attempts), and the check runs once more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import PurePosixPath
from typing import cast, get_args

from sqlmodel import col, delete, select

from devmatrix.code.atoms import AtomKind, CodeAtom
from devmatrix.execution.generation import build_acceptance_request, extract_code
from devmatrix.execution.resilience import call_with_backoff
from devmatrix.execution.runner import PlanRun
from devmatrix.execution.state import AtomState, save_atom
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import AcceptanceTest, AcceptanceTestResult
from devmatrix.validation.acceptance import AcceptanceOutcome, check_plan
from devmatrix.validation.blame import blame, by_atom, feedback_for_atom, is_test_file
from devmatrix.validation.findings import Finding, Level
from devmatrix.validation.levels import LevelReport, check_milestone, check_task
from devmatrix.validation.project import module_name

Check = Callable[[], LevelReport]


def code_atoms(run: PlanRun) -> tuple[list[CodeAtom], dict[str, str]]:
    """The written atoms with their line ranges, and the files' texts, for blaming findings."""
    atoms: list[CodeAtom] = []
    sources: dict[str, str] = {}
    kinds = set(get_args(AtomKind))
    for file in run.state.files():
        assembled = run.assembled(file)
        sources[file] = assembled.text
        for key, (start, end) in assembled.ranges.items():
            atom = run.state.atoms[key]
            kind = cast(AtomKind, atom.kind if atom.kind in kinds else "function")
            atoms.append(
                CodeAtom(
                    id=key,
                    file=file,
                    qualified_name=atom.qualified_name,
                    kind=kind,
                    start_byte=0,
                    end_byte=0,
                    start_line=start,
                    end_line=end,
                    signature=atom.signature,
                )
            )
    return atoms, sources


async def run_level(
    run: PlanRun, level: Level, check: Check, scope: Sequence[AtomState], task_id: int | None = None
) -> LevelReport:
    """Run a check; regenerate the atoms it blames and run it again, up to `check_rounds` times."""
    report = await asyncio.to_thread(check)
    for round_ in range(run.options.check_rounds):
        atoms, sources = code_atoms(run)
        found = blame(report.findings, atoms, sources)
        _mark_levels(run, level, scope, found)
        run.record(found, list(scope), task_id=task_id, level=level)
        run.coverage.update(report.coverage or {})
        blamed = [run.state.atoms[k] for k in by_atom(found) if k in run.state.atoms]
        retryable = [a for a in blamed if a.attempts < run.options.max_attempts]
        if report.passed or not retryable or round_ == run.options.check_rounds - 1:
            return report
        for atom in retryable:
            atom.feedback = feedback_for_atom(atom.key, found)
            save_atom(run.engine, atom, status="pending")
            await run.produce(atom)
        report = await asyncio.to_thread(check)
    return report


def _mark_levels(
    run: PlanRun, level: Level, scope: Sequence[AtomState], found: list[Finding]
) -> None:
    failed = {k for f in found for k in f.atom_keys}
    for atom in scope:
        run.levels.setdefault(atom.key, {})[int(level)] = atom.key not in failed
    for key in failed & set(run.state.atoms):
        run.levels.setdefault(key, {})[int(level)] = False


def _split(files: Sequence[str]) -> tuple[list[str], list[str]]:
    py = [f for f in files if f.endswith(".py")]
    modules = [m for m in (module_name(f) for f in py if not is_test_file(f)) if m]
    tests = [f for f in py if is_test_file(f) and PurePosixPath(f).name != "conftest.py"]
    return modules, tests


async def check_tasks(run: PlanRun) -> None:
    """Level 2 for every task whose atoms are all written."""
    for task in run.state.tasks.values():
        scope = [run.state.atoms[k] for k in task.atom_keys]
        if not scope or any(a.code is None for a in scope):
            continue
        modules, tests = _split(task.target_files)
        run.report(f"L2 {task.code}")
        await run_level(
            run,
            Level.TASK,
            partial(
                check_task,
                run.options.out_dir,
                modules=modules,
                test_paths=tests,
                limits=run.options.limits,
            ),
            scope,
            task_id=task.id,
        )


async def check_milestones(run: PlanRun) -> None:
    """Level 3 after each milestone: everything written so far imports, passes, and lints."""
    files: list[str] = []
    for milestone_id in run.state.milestones:
        tasks = [t for t in run.state.tasks.values() if t.milestone_id == milestone_id]
        for task in tasks:
            files.extend(f for f in task.target_files if f not in files)
        scope = [run.state.atoms[k] for t in tasks for k in t.atom_keys]
        if not scope:
            continue
        modules, tests = _split(files)
        run.report(f"L3 milestone {milestone_id}")
        await run_level(
            run,
            Level.MILESTONE,
            partial(
                check_milestone,
                run.options.out_dir,
                modules=modules,
                test_paths=tests,
                limits=run.options.limits,
            ),
            scope,
        )


def acceptance_file(requirement: str) -> str:
    """Where the acceptance test of a requirement is written."""
    return f"tests/acceptance/test_{requirement.lower().replace('-', '_')}.py"


async def write_acceptance_tests(run: PlanRun) -> list[str]:
    """Ask for one acceptance test file per requirement (kept once written) and write them."""
    paths = []
    api = "\n".join(
        f"{a.file}: {a.signature}"
        for a in run.state.atoms.values()
        if a.kind != "test" and not is_test_file(a.file)
    )
    for code, text in run.state.requirements.items():
        path = acceptance_file(code)
        with session_scope(run.engine) as session:
            row = session.exec(
                select(AcceptanceTest).where(
                    AcceptanceTest.plan_id == run.state.plan_id,
                    AcceptanceTest.requirement_code == code,
                )
            ).first()
        if row is None:
            request = build_acceptance_request(code, text, run.state.criteria.get(code, []), api)
            response = await call_with_backoff(
                partial(
                    run.client.complete,
                    request,
                    user_id=run.state.owner_id,
                    plan_id=run.state.plan_id,
                ),
                run.breaker,
            )
            run.progress.cost_usd += response.cost_usd
            with session_scope(run.engine) as session:
                row = AcceptanceTest(
                    plan_id=run.state.plan_id,
                    requirement_code=code,
                    name=f"acceptance {code}",
                    file=path,
                    code=extract_code(response.text),
                )
                session.add(row)
        run.writer.write_text(path, row.code)
        paths.append(path)
    return paths


async def check_acceptance(run: PlanRun) -> dict[str, str]:
    """Level 4: acceptance tests per requirement; returns the gate's verdict per requirement."""
    run.report("L4 acceptance")
    paths = await write_acceptance_tests(run)
    scope = list(run.state.atoms.values())
    last: dict[str, str] = {}

    def check() -> LevelReport:
        report = check_plan(
            run.options.out_dir,
            paths,
            requirements=list(run.state.requirements),
            limits=run.options.limits,
        )
        last.clear()
        last.update({req: str(v.status) for req, v in report.verdicts.items()})
        _store_results(run, report.outcomes)
        return LevelReport(Level.PLAN, report.findings)

    await run_level(run, Level.PLAN, check, scope)
    return dict(last)


def _store_results(run: PlanRun, outcomes: Sequence[AcceptanceOutcome]) -> None:
    with session_scope(run.engine) as session:
        tests = {
            t.requirement_code: t
            for t in session.exec(
                select(AcceptanceTest).where(AcceptanceTest.plan_id == run.state.plan_id)
            )
        }
        for test in tests.values():
            session.execute(
                delete(AcceptanceTestResult).where(
                    col(AcceptanceTestResult.test_id) == test.id,
                    col(AcceptanceTestResult.run_id) == run.run_id,
                )
            )
        for outcome in outcomes:
            owner = tests.get(outcome.requirement)
            if owner is not None and owner.id is not None:
                session.add(
                    AcceptanceTestResult(
                        test_id=owner.id,
                        run_id=run.run_id,
                        passed=outcome.passed,
                        output=f"{outcome.test}\n{outcome.output}"[:4000],
                    )
                )
