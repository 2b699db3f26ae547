"""The acceptance gate: one verdict per requirement, pass / fail / no tests."""

from __future__ import annotations

from devmatrix.validation.acceptance import (
    AcceptanceOutcome,
    VerdictStatus,
    acceptance_gate,
    requirement_of,
)


def test_requirement_codes_from_file_and_test_names() -> None:
    assert requirement_of("tests/acceptance/test_req_3.py") == "REQ-3"
    assert requirement_of("tests/acceptance/test_REQ-12_login.py") == "REQ-12"
    assert requirement_of("tests/test_x.py::test_req7_something") == "REQ-7"
    assert requirement_of("tests/test_cart.py::test_total") is None


def test_verdict_per_requirement() -> None:
    results = [
        AcceptanceOutcome("REQ-1", "t1", True),
        AcceptanceOutcome("REQ-1", "t2", True),
        AcceptanceOutcome("REQ-2", "t3", True),
        AcceptanceOutcome("REQ-2", "t4", False),
        AcceptanceOutcome("REQ-10", "t5", True),
    ]
    verdicts = acceptance_gate(results, ["REQ-1", "REQ-2", "REQ-3", "REQ-10"])
    assert list(verdicts) == ["REQ-1", "REQ-2", "REQ-3", "REQ-10"]
    assert {k: v.status for k, v in verdicts.items()} == {
        "REQ-1": VerdictStatus.PASS,
        "REQ-2": VerdictStatus.FAIL,
        "REQ-3": VerdictStatus.NO_TESTS,
        "REQ-10": VerdictStatus.PASS,
    }
    assert (verdicts["REQ-2"].passed, verdicts["REQ-2"].failed) == (1, 1)
    assert verdicts["REQ-2"].failing == ("t4",)
    assert verdicts["REQ-1"].passed == 2
