"""The offline demo's prepared answers (examples/taskboard/answers.json) hang together.

They are read the way the engine reads them: planning answers through the planning schemas and
checks, atom answers through the level-1 validator and the engine's own file assembler, and the
assembled package's unit and acceptance tests run with pytest in a subprocess.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from devmatrix.execution.assembly import PlacedAtom, assemble_file
from devmatrix.execution.checks import acceptance_file
from devmatrix.execution.generation import atom_purpose, extract_code
from devmatrix.llm.scripted_provider import ScriptedAnswers
from devmatrix.planning.atoms import PlannedAtom, atom_problems, resolve_atoms
from devmatrix.planning.masterplan import plan_problems
from devmatrix.planning.schemas import AtomPlanSpec, DiscoverySpec, PlanSpec, TaskSpec
from devmatrix.planning.symbols import SymbolTable
from devmatrix.validation.atom_check import AtomContract, check_atom
from devmatrix.validation.findings import Code
from devmatrix.validation.lint import ruff_binary

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "taskboard"
RETRIED_ATOM = "taskboard/queries.py::sort_tasks"
_PASSED = re.compile(r"(\d+) passed")


@dataclass(frozen=True)
class Demo:
    """The answers file read as the engine reads it."""

    answers: dict[str, list[str]]  # purpose -> answer texts, in file order
    discovery: DiscoverySpec
    plan: PlanSpec
    atom_plans: list[tuple[TaskSpec, AtomPlanSpec]]
    planned: list[PlannedAtom]

    def final_code(self, key: str) -> str:
        """The code of the last answer for an atom (the one that stays)."""
        return extract_code(self.answers[atom_purpose(key)][-1])


@functools.cache
def load_demo() -> Demo:
    raw = ScriptedAnswers.model_validate_json((EXAMPLE / "answers.json").read_bytes())
    answers: dict[str, list[str]] = defaultdict(list)
    for entry in raw.answers:
        answers[entry.purpose].append(entry.text())
    discovery = DiscoverySpec.model_validate_json(answers["discovery"][0])
    plan = PlanSpec.model_validate_json(answers["masterplan"][0])
    table = SymbolTable((), plan.dependencies)
    atom_plans = []
    for task in plan.tasks():
        spec = AtomPlanSpec.model_validate_json(answers[f"atoms:{task.code}"][0])
        assert atom_problems(spec, task, table) == [], task.code
        for atom in spec.atoms:
            table.add(atom.file, atom.qualified_name)
        atom_plans.append((task, spec))
    return Demo(dict(answers), discovery, plan, atom_plans, resolve_atoms(atom_plans, table))


def placed_atoms(demo: Demo, file: str, keys: set[str] | None = None) -> list[PlacedAtom]:
    """The atoms of `file` with their final code, in plan order (optionally only `keys`)."""
    return [
        PlacedAtom(p.key, p.spec.qualified_name, p.spec.kind, position, demo.final_code(p.key))
        for position, p in enumerate(demo.planned)
        if p.spec.file == file and (keys is None or p.key in keys)
    ]


def ancestors(demo: Demo, key: str) -> set[str]:
    """Every atom `key` depends on, directly or not."""
    edges = {p.key: [k for k, _ in p.depends_on] for p in demo.planned}
    seen: set[str] = set()
    stack = list(edges[key])
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(edges[current])
    return seen


def write_project(demo: Demo, root: Path) -> None:
    """Assemble every file from the final answers, plus the acceptance test files."""
    for file in sorted({p.spec.file for p in demo.planned}):
        target = root / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(assemble_file(file, placed_atoms(demo, file)).text, encoding="utf-8")
    for requirement in demo.discovery.requirements:
        target = root / acceptance_file(requirement.code)
        target.parent.mkdir(parents=True, exist_ok=True)
        code = extract_code(demo.answers[f"acceptance:{requirement.code}"][0])
        target.write_text(code, encoding="utf-8")


def test_planning_answers_follow_the_schemas_and_cover_every_requirement() -> None:
    demo = load_demo()
    codes = [r.code for r in demo.discovery.requirements]
    assert codes == [f"REQ-{n}" for n in range(1, len(codes) + 1)]
    assert 5 <= len(codes) <= 7
    assert all(len(r.acceptance_criteria) >= 3 for r in demo.discovery.requirements)
    assert plan_problems(demo.plan, codes) == []
    assert [p.name for p in demo.plan.phases] == ["Setup", "Core", "Polish"]
    assert demo.plan.dependencies == []
    assert any(t.depends_on for t in demo.plan.tasks())


def test_atoms_are_many_spread_over_tasks_and_depend_across_tasks() -> None:
    demo = load_demo()
    per_task = Counter(p.task for p in demo.planned)
    assert sum(per_task.values()) >= 40
    assert len(per_task) >= 3
    tests_per_task = Counter(p.task for p in demo.planned if p.spec.kind == "test")
    assert set(tests_per_task) == set(per_task), "every task has unit-test atoms"
    assert all(p.spec.file.startswith("tests/test_") for p in demo.planned if p.spec.kind == "test")
    task_of = {p.key: p.task for p in demo.planned}
    cross = {(p.task, task_of[k]) for p in demo.planned for k, _ in p.depends_on}
    assert {("T5", "T4"), ("T4", "T1"), ("T3", "T1"), ("T5", "T2")} <= cross
    for task, spec in demo.atom_plans:
        files = [a.file for a in spec.atoms]
        # Each file's atoms are listed in file order: the engine places them in that order.
        assert files == sorted(files, key=files.index), task.code


def test_one_generation_answer_per_atom_except_the_retried_one() -> None:
    demo = load_demo()
    keys = {p.key for p in demo.planned}
    generation = {p: n for p, n in demo.answers.items() if p.startswith("atom:")}
    assert set(generation) == {atom_purpose(k) for k in keys}
    counts = Counter({p.removeprefix("atom:"): len(n) for p, n in generation.items()})
    assert counts.pop(RETRIED_ATOM) == 2
    assert set(counts.values()) == {1}
    retried = next(p for p in demo.planned if p.key == RETRIED_ATOM)
    dependents = [p.key for p in demo.planned if any(k == RETRIED_ATOM for k, _ in p.depends_on)]
    assert retried.depends_on
    assert dependents, "the retried atom sits in the middle of the graph"
    acceptance = {p for p in demo.answers if p.startswith("acceptance:")}
    assert acceptance == {f"acceptance:{r.code}" for r in demo.discovery.requirements}


def test_level_one_fails_the_first_retried_answer_and_passes_every_final_one() -> None:
    demo = load_demo()
    for atom in demo.planned:
        spec = atom.spec
        contract = AtomContract(
            spec.file, spec.qualified_name, spec.kind, spec.signature, tuple(spec.uses)
        )
        # Worst case for undefined names: the file holds only what this atom depends on.
        keep = ancestors(demo, atom.key) | {atom.key}
        placed = placed_atoms(demo, spec.file, keep)
        for number, answer in enumerate(demo.answers[atom_purpose(atom.key)], start=1):
            code = extract_code(answer)
            mine = [
                PlacedAtom(atom.key, spec.qualified_name, spec.kind, p.position, code)
                if p.key == atom.key
                else p
                for p in placed
            ]
            source = assemble_file(spec.file, mine).text
            findings = check_atom(contract, code.strip("\n"), file_source=source)
            final = number == len(demo.answers[atom_purpose(atom.key)])
            if final:
                assert findings == [], (atom.key, [f.message for f in findings])
            else:
                assert [f.code for f in findings] == [Code.SIGNATURE_MISMATCH], atom.key
                assert "(tasks, by)" in findings[0].message


def test_assembled_package_passes_its_tests_and_lint(tmp_path: Path) -> None:
    demo = load_demo()
    root = tmp_path / "taskboard-project"
    write_project(demo, root)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    passed = _PASSED.search(done.stdout)
    unit_tests = sum(1 for p in demo.planned if p.spec.kind == "test")
    assert passed is not None
    assert int(passed.group(1)) >= unit_tests + len(demo.discovery.requirements)
    ruff = [ruff_binary(), "check", "--isolated", "--no-cache", "--quiet"]
    lint = subprocess.run(
        [*ruff, "--select", "E,F,W", "."], cwd=root, capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout
    # Import order is the assembler's business (it does not sort yet): sort, then check all.
    subprocess.run([*ruff, "--select", "I", "--fix", "."], cwd=root, check=False)
    lint = subprocess.run(
        [*ruff, "--select", "E,F,W,I", "."], cwd=root, capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout
