"""MasterPlan generation: coverage, dependencies and paths are checked, fed back, then refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from devmatrix.planning.errors import PlanningError
from devmatrix.planning.masterplan import generate_plan, plan_problems, unsafe_path_reason
from devmatrix.planning.schemas import DiscoverySpec, PlanSpec

CODES = ["REQ-1", "REQ-2", "REQ-3"]


def _answer(answers: list[dict[str, Any]], purpose: str) -> dict[str, Any]:
    return copy.deepcopy(next(a["answer"] for a in answers if a["purpose"] == purpose))


def _uncovered(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with REQ-3 served by no task (T3 and T4 no longer list it)."""
    broken = copy.deepcopy(plan)
    for phase in broken["phases"]:
        for milestone in phase["milestones"]:
            for task in milestone["tasks"]:
                task["requirements"] = [r for r in task["requirements"] if r != "REQ-3"]
    return broken


async def test_an_uncovered_requirement_is_fed_back_then_refused(
    client_for: Any, todo_answers: list[dict[str, Any]]
) -> None:
    discovery = DiscoverySpec.model_validate(_answer(todo_answers, "discovery"))
    broken = _uncovered(_answer(todo_answers, "masterplan"))
    client, recorder = client_for([{"purpose": "masterplan", "answer": broken}] * 3)
    with pytest.raises(PlanningError) as caught:
        await generate_plan(client, discovery, max_retries=2)
    assert len(recorder.requests) == 3
    assert (
        "requirement REQ-3 is not served by any task" in recorder.requests[1].messages[-1].content
    )
    assert "requirement REQ-3 is not served by any task" in str(caught.value)


async def test_the_corrected_plan_is_accepted_after_feedback(
    client_for: Any, todo_answers: list[dict[str, Any]]
) -> None:
    discovery = DiscoverySpec.model_validate(_answer(todo_answers, "discovery"))
    good = _answer(todo_answers, "masterplan")
    client, recorder = client_for(
        [
            {"purpose": "masterplan", "answer": _uncovered(good)},
            {"purpose": "masterplan", "contains": "REQ-3 is not served", "answer": good},
        ]
    )
    plan = await generate_plan(client, discovery)
    assert [t.code for t in plan.tasks()] == ["T1", "T2", "T3", "T4"]
    assert recorder.requests[0].purpose == "masterplan"
    assert "REQ-3" in recorder.requests[0].messages[0].content  # the discovery is in the prompt


def test_plan_problems_name_unknown_and_cyclic_dependencies(
    todo_answers: list[dict[str, Any]],
) -> None:
    data = _answer(todo_answers, "masterplan")
    core = data["phases"][1]["milestones"][0]["tasks"]
    core[0]["depends_on"] = ["T1", "T3"]  # T2 <-> T3
    core[1]["depends_on"] = ["T2", "T9"]
    data["phases"][2]["milestones"][0]["tasks"][0]["requirements"].append("REQ-7")
    problems = plan_problems(PlanSpec.model_validate(data), CODES)
    assert "task T3 depends on T9, which is not a task in the plan" in problems
    assert "task T4 lists unknown requirement REQ-7" in problems
    cycle = [p for p in problems if "form a cycle" in p]
    assert len(cycle) == 1
    assert "T2" in cycle[0]
    assert "T3" in cycle[0]


def test_plan_problems_name_duplicate_codes_and_phase_order(
    todo_answers: list[dict[str, Any]],
) -> None:
    data = _answer(todo_answers, "masterplan")
    data["phases"][2]["milestones"][0]["tasks"][0]["code"] = "T1"
    data["phases"] = [data["phases"][1], data["phases"][0], data["phases"][2]]
    problems = plan_problems(PlanSpec.model_validate(data), CODES)
    assert "task code T1 is used twice; give every task its own code" in problems
    assert any(p.startswith("phases must be Setup, Core, Polish") for p in problems)
    good = PlanSpec.model_validate(_answer(todo_answers, "masterplan"))
    assert plan_problems(good, CODES) == []


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd", "is absolute"),
        ("C:/app/main.py", "is absolute"),
        ("~/app.py", "is absolute"),
        ("../outside.py", "climbs out"),
        ("app/../../x.py", "climbs out"),
        (".git/hooks/pre-commit", "inside .git"),
        ("app\\main.py", "backslash"),
        ("app/", "names a folder"),
        ("", "is empty"),
    ],
)
def test_unsafe_target_files_are_named(
    path: str, reason: str, todo_answers: list[dict[str, Any]]
) -> None:
    found = unsafe_path_reason(path)
    assert found is not None
    assert reason in found
    data = _answer(todo_answers, "masterplan")
    data["phases"][0]["milestones"][0]["tasks"][0]["target_files"] = [path]
    problems = plan_problems(PlanSpec.model_validate(data), CODES)
    assert any(p.startswith(f"task T1 target file {path!r}") for p in problems)


def test_safe_relative_paths_pass() -> None:
    for path in (
        "app/main.py",
        "tests/test_app.py",
        "README.md",
        "src/pkg/__init__.py",
        ".github/ci.yml",
    ):
        assert unsafe_path_reason(path) is None
