"""L2/L3/L4 on the fixture projects, run for real in the sandbox, failures mapped to atoms."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from devmatrix.confidence import ConfidenceInputs, confidence, levels_for_atom
from devmatrix.sandbox import SandboxLimits
from devmatrix.validation.acceptance import VerdictStatus, check_plan
from devmatrix.validation.blame import blame, feedback_for_atom
from devmatrix.validation.findings import Code
from devmatrix.validation.in_sandbox import atom_coverage
from devmatrix.validation.levels import check_milestone, check_task
from devmatrix.validation.project import ProjectReport, python_files, read_atoms, validate_project

from .conftest import build_project


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory) -> ProjectReport:
    return validate_project(build_project("base", tmp_path_factory.mktemp("base") / "p"))


def _by_key(report: ProjectReport) -> dict[str, list[Code]]:
    found: dict[str, list[Code]] = {}
    for finding in report.findings:
        for key in finding.atom_keys or ("-",):
            found.setdefault(key, []).append(finding.code)
    return found


def test_passing_project_passes_with_coverage_per_atom(passing: ProjectReport) -> None:
    assert passing.findings == ()
    assert [o.outcome for o in passing.outcomes] == ["passed"] * 5
    assert passing.coverage is not None
    atoms = {a.id: a for a in passing.atoms}
    discount = atoms["shop/pricing.py::discount"]
    # `raise ValueError` in discount is never reached by the tests: 2 of its 3 body statements ran.
    covered = atom_coverage(passing.coverage, discount)
    assert covered == pytest.approx(2 / 3)
    assert atom_coverage(passing.coverage, atoms["shop/pricing.py::with_tax"]) == 1.0
    assert atom_coverage(passing.coverage, atoms["shop/cart.py::Cart.total"]) == 1.0
    levels = levels_for_atom(discount.id, (1, 2, 3), passing.findings)
    assert confidence(ConfidenceInputs(levels, 1, covered)) == pytest.approx(0.8333, abs=1e-4)


def test_failing_tests_map_to_the_atoms_responsible(make_project: Callable[[str], Path]) -> None:
    report = validate_project(make_project("failing_test"))
    assert _by_key(report) == {
        # raised inside discount (innermost generated frame)
        "shop/pricing.py::discount": [Code.TASK_TEST_FAILED],
        # assertion in the test: the atom under test, from the test's name and the names it uses
        "shop/cart.py::Cart.add": [Code.TASK_TEST_FAILED],
        "shop/pricing.py::with_tax": [Code.TASK_TEST_FAILED],
    }
    raised = next(f for f in report.findings if "shop/pricing.py::discount" in f.atom_keys)
    # The finding points at the line to change; where the test reported it is kept.
    assert (raised.file, raised.line) == ("shop/pricing.py", 9)
    assert raised.details["reported_file"] == "tests/test_cart.py"
    prompt = feedback_for_atom("shop/pricing.py::discount", report.findings)
    assert "tests/test_cart.py::test_cart_total" in prompt
    assert "ValueError: rate must be between 0 and 1" in prompt
    assert "inside `discount`, raised the error" in prompt
    assert 'raise ValueError("rate must be between 0 and 1")' in prompt
    tax = feedback_for_atom("shop/pricing.py::with_tax", report.findings)
    assert "assert 2.0 == 12.0" in tax
    assert "exercises `with_tax`" in tax


def test_milestone_lint_findings_map_by_line(make_project: Callable[[str], Path]) -> None:
    root = make_project("lint_error")
    report = check_milestone(
        root, modules=["shop", "shop.cart", "shop.pricing"], test_paths=["tests"]
    )
    assert [(f.code, f.details["rule"], f.line) for f in report.findings] == [
        (Code.LINT, "F401", 3),
        (Code.LINT, "F841", 22),
    ]
    assert [o.outcome for o in report.outcomes] == ["passed"] * 5
    atoms, sources = read_atoms(root, python_files(root))
    blamed = blame(report.findings, atoms, sources)
    assert [f.atom_keys for f in blamed] == [
        ("shop/cart.py::<imports>",),
        ("shop/cart.py::Cart.total",),
    ]
    prompt = feedback_for_atom("shop/cart.py::Cart.total", blamed)
    assert "F841" in prompt
    assert "unused = len(self.items)" in prompt


def test_acceptance_gate_per_requirement(make_project: Callable[[str], Path]) -> None:
    root = make_project("acceptance")
    report = check_plan(root, ["tests/acceptance"], requirements=["REQ-1", "REQ-2", "REQ-3"])
    assert {k: v.status for k, v in report.verdicts.items()} == {
        "REQ-1": VerdictStatus.PASS,
        "REQ-2": VerdictStatus.FAIL,
        "REQ-3": VerdictStatus.NO_TESTS,
    }
    assert not report.passed
    [finding] = report.findings
    assert finding.code == Code.ACCEPTANCE_FAILED
    assert finding.details["requirement"] == "REQ-2"
    atoms, sources = read_atoms(root, python_files(root))
    [blamed] = blame([finding], atoms, sources)
    assert blamed.atom_keys == ("shop/pricing.py::discount",)
    assert "DID NOT RAISE" in blamed.feedback


def test_endless_loop_is_stopped_and_blamed(make_project: Callable[[str], Path]) -> None:
    root = make_project("timeout")
    limits = SandboxLimits(wall_seconds=4.0, cpu_seconds=10)
    report = check_task(root, modules=["shop.pricing"], test_paths=["tests"], limits=limits)
    [finding] = report.findings
    assert finding.code == Code.SANDBOX_TIMEOUT
    assert finding.details["test_name"] == "test_with_tax"
    parsed, sources = read_atoms(root, python_files(root))
    [blamed] = blame([finding], parsed, sources)
    assert blamed.atom_keys == ("shop/pricing.py::with_tax",)
    assert "loop that never ends" in blamed.feedback


def test_module_that_hangs_at_import_is_named(tmp_path: Path) -> None:
    (tmp_path / "fine.py").write_text("VALUE = 1\n")
    (tmp_path / "hang.py").write_text("while True:\n    pass\n")
    limits = SandboxLimits(wall_seconds=3.0, cpu_seconds=10)
    report = check_task(tmp_path, modules=["fine", "hang"], test_paths=["tests"], limits=limits)
    [finding] = report.findings
    assert finding.code == Code.SANDBOX_TIMEOUT
    assert finding.details["module"] == "hang"
    assert "Importing `hang` did not finish in time" in finding.feedback
