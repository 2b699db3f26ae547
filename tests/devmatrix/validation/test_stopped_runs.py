"""A run the sandbox stopped becomes a finding blamed on the test that was running."""

from __future__ import annotations

from devmatrix.sandbox import SandboxResult
from devmatrix.validation.findings import Code, Level
from devmatrix.validation.in_sandbox import TestRun
from devmatrix.validation.levels import run_findings

VERBOSE = """tests/test_net.py::test_fetch_ok PASSED                    [ 50%]
tests/test_net.py::test_fetch_all_pages """


def _run(result: SandboxResult) -> TestRun:
    return TestRun((), None, result, None, VERBOSE)


def test_limit_names_the_reason_and_the_running_test() -> None:
    result = SandboxResult(-9, VERBOSE, "", False, "file size limit exceeded", 1.0)
    [finding] = run_findings(Level.TASK, _run(result))
    assert finding.code == Code.SANDBOX_LIMIT
    assert finding.details["test_name"] == "test_fetch_all_pages"
    assert finding.details["test_file"] == "tests/test_net.py"
    assert "file size limit exceeded" in finding.feedback
    assert "must not open network connections" in finding.feedback


def test_timeout_and_a_run_that_could_not_start() -> None:
    timed_out = SandboxResult(-9, VERBOSE, "", True, None, 5.0)
    [finding] = run_findings(Level.MILESTONE, _run(timed_out))
    assert finding.code == Code.SANDBOX_TIMEOUT
    assert "did not finish in time" in finding.message
    crashed = TestRun(
        (), None, SandboxResult(4, "", "usage error", False, None, 0.1), 4, "ERROR: bad"
    )
    [finding] = run_findings(Level.MILESTONE, crashed)
    assert finding.code == Code.MILESTONE_TEST_FAILED
    assert "could not run" in finding.message
