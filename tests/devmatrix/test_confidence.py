"""The confidence formula: levels passed, attempts used, coverage; bounded and deterministic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devmatrix.confidence import (
    ConfidenceInputs,
    confidence,
    levels_for_atom,
    needs_review,
    score_atom,
)
from devmatrix.config import load_settings
from devmatrix.validation.findings import Code, Finding, Level

ALL = {1: True, 2: True, 3: True, 4: True}


@pytest.mark.parametrize(
    ("levels", "attempts", "coverage", "expected"),
    [
        (ALL, 1, 1.0, 1.0),
        (ALL, 2, 1.0, 0.85),
        (ALL, 4, 1.0, 0.6141),
        (ALL, 1, 0.4, 0.7),
        (ALL, 1, None, 0.75),
        (ALL, 1, 0.0, 0.5),
        ({1: True, 2: True}, 1, 1.0, 1.0),
        ({1: True, 2: False}, 1, 1.0, 0.5714),
        ({1: True, 2: True, 3: False, 4: True}, 1, 1.0, 0.8),
        ({1: False, 2: True}, 1, 1.0, 0.0),
        ({2: True}, 1, 1.0, 0.0),
    ],
)
def test_formula_values(
    levels: dict[int, bool], attempts: int, coverage: float | None, expected: float
) -> None:
    assert confidence(ConfidenceInputs(levels, attempts, coverage)) == expected


@given(
    levels=st.dictionaries(st.integers(1, 4), st.booleans(), min_size=1),
    attempts=st.integers(0, 20),
    coverage=st.none() | st.floats(-1.0, 2.0, allow_nan=False),
)
def test_bounded_deterministic_and_monotone(
    levels: dict[int, bool], attempts: int, coverage: float | None
) -> None:
    score = confidence(ConfidenceInputs(levels, attempts, coverage))
    assert 0.0 <= score <= 1.0
    assert score == confidence(ConfidenceInputs(dict(levels), attempts, coverage))
    assert confidence(ConfidenceInputs(levels, attempts + 1, coverage)) <= score


def test_levels_for_atom_reads_blamed_findings() -> None:
    findings = [
        Finding(Level.TASK, Code.TASK_TEST_FAILED, "m", "f", atom_keys=("a.py::f",)),
        Finding(Level.MILESTONE, Code.LINT, "m", "f", atom_keys=("a.py::g",)),
    ]
    assert levels_for_atom("a.py::f", (1, 2, 3), findings) == {1: True, 2: False, 3: True}
    assert levels_for_atom("a.py::h", (1, 2), findings) == {1: True, 2: True}


def test_threshold_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().review_confidence_threshold == 0.7
    monkeypatch.setenv("DEVMATRIX_REVIEW_CONFIDENCE_THRESHOLD", "0.9")
    threshold = load_settings().review_confidence_threshold
    assert threshold == 0.9
    assert needs_review(0.85, threshold)
    assert not needs_review(0.9, threshold)


def test_score_atom_combines_blamed_findings_attempts_and_coverage() -> None:
    findings = [Finding(Level.TASK, Code.TASK_TEST_FAILED, "m", "f", atom_keys=("a.py::f",))]
    failing = score_atom("a.py::f", levels_run=(1, 2), findings=findings, attempts=1, coverage=1.0)
    assert failing == 0.5714
    clean = score_atom("a.py::g", levels_run=(1, 2), findings=findings, attempts=2, coverage=0.5)
    assert clean == 0.6375
