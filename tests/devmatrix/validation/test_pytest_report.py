"""Reading pytest's JUnit XML and, when there is none, its `-rA` summary."""

from __future__ import annotations

from pathlib import Path

from devmatrix.validation.pytest_report import Frame, parse_junit, parse_summary, read_outcomes

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4">
<testcase classname="tests.test_cart" name="test_ok" file="tests/test_cart.py" line="6" time="0.001"/>
<testcase classname="tests.test_cart.TestCart" name="test_total[2]" file="tests/test_cart.py" line="11" time="0.01">
<failure message="ValueError: rate must be between 0 and 1">tests/test_cart.py:14: in test_total
    assert cart.total() == 15.0
shop/cart.py:20: in total
    return discount(sum(self.items.values()), rate)
shop/pricing.py:9: in discount
    raise ValueError("rate must be between 0 and 1")
E   ValueError: rate must be between 0 and 1</failure></testcase>
<testcase classname="tests.test_cart" name="test_skip" file="tests/test_cart.py" line="20"><skipped message="later"/></testcase>
<testcase classname="" name="tests.test_broken" time="0"><error message="collection failure">E   ImportError</error></testcase>
</testsuite></testsuites>"""

SUMMARY = """
________________________________ test_with_tax _________________________________
tests/test_cart.py:30: in test_with_tax
    assert with_tax(10.0) == 12.0
E   assert 2.0 == 12.0
=========================== short test summary info ============================
PASSED tests/test_cart.py::test_discount_default
FAILED tests/test_cart.py::test_with_tax - assert 2.0 == 12.0
ERROR tests/test_other.py::test_x - fixture 'db' not found
========================= 1 failed, 1 passed in 0.05s ==========================
"""


def test_junit_outcomes_nodeids_lines_and_frames() -> None:
    ok, failed, skipped, error = parse_junit(JUNIT)
    assert (ok.nodeid, ok.outcome, ok.line) == ("tests/test_cart.py::test_ok", "passed", 7)
    assert failed.nodeid == "tests/test_cart.py::TestCart::test_total[2]"
    assert failed.name == "test_total"
    assert failed.failed
    assert failed.message.startswith("ValueError")
    assert failed.frames() == [
        Frame("tests/test_cart.py", 14, "test_total"),
        Frame("shop/cart.py", 20, "total"),
        Frame("shop/pricing.py", 9, "discount"),
    ]
    assert skipped.outcome == "skipped"
    assert not skipped.failed
    assert error.outcome == "error"
    assert error.failed


def test_summary_fallback_keeps_failure_text() -> None:
    passed, failed, error = parse_summary(SUMMARY)
    assert passed.outcome == "passed"
    assert (failed.nodeid, failed.outcome, failed.message) == (
        "tests/test_cart.py::test_with_tax",
        "failed",
        "assert 2.0 == 12.0",
    )
    assert failed.frames() == [Frame("tests/test_cart.py", 30, "test_with_tax")]
    assert error.outcome == "error"
    assert error.file == "tests/test_other.py"


def test_truncated_report_falls_back_to_the_summary(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT[:300])
    outcomes = read_outcomes(report, SUMMARY)
    assert [o.outcome for o in outcomes] == ["passed", "failed", "error"]
    report.write_text(JUNIT)
    assert len(read_outcomes(report, SUMMARY)) == 4
    assert read_outcomes(tmp_path / "missing.xml", "") == []
