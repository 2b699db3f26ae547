"""Plan versions: every change is a new readable snapshot with history; only approved plans run."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from devmatrix.errors import NotFoundError
from devmatrix.planning.discovery import save_discovery
from devmatrix.planning.errors import PlanningError, PlanNotRunnable
from devmatrix.planning.masterplan import save_plan
from devmatrix.planning.schemas import DiscoverySpec, PlanSpec, TaskSpec
from devmatrix.planning.versions import (
    add_task,
    approve_plan,
    current_plan,
    drop_task,
    edit_task,
    ensure_runnable,
    get_plan,
    get_plan_version,
    next_task_code,
    plan_history,
    reorder_tasks,
)
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import MasterPlanTask


def _answer(answers: list[dict[str, Any]], purpose: str) -> dict[str, Any]:
    return next(a["answer"] for a in answers if a["purpose"] == purpose)


@pytest.fixture
def plan_id(engine: Engine, todo_answers: list[dict[str, Any]]) -> int:
    """The todo plan saved as version 1, with its discovery."""
    discovery = DiscoverySpec.model_validate(_answer(todo_answers, "discovery"))
    plan = PlanSpec.model_validate(_answer(todo_answers, "masterplan"))
    with session_scope(engine) as session:
        document = save_discovery(session, "A todo library.", discovery)
        row = save_plan(session, plan, discovery_id=document.id)
        assert row.id is not None
        return row.id


def _task_rows(engine: Engine, plan_id: int) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(MasterPlanTask).where(MasterPlanTask.plan_id == plan_id).order_by("position")
        ).all()
        return [(r.code, r.title) for r in rows]


def test_each_change_is_a_new_version_and_old_versions_stay_readable(
    engine: Engine, plan_id: int
) -> None:
    with session_scope(engine) as session:
        edit_task(session, plan_id, "T2", {"title": "Add and list todos by due date"})
    with session_scope(engine) as session:
        reorder_tasks(session, plan_id, ["T3", "T2"])
    with session_scope(engine) as session:
        extra = TaskSpec(
            code=next_task_code(current_plan(session, plan_id)),
            title="README",
            requirements=["REQ-1"],
            target_files=["README.md"],
            depends_on=["T2"],
        )
        add_task(session, plan_id, extra, milestone="Tests")
    with session_scope(engine) as session:
        drop_task(session, plan_id, "T5")
        plan = approve_plan(session, plan_id, actor_id=None)
        assert (plan.version, plan.status, plan.approved_version) == (6, "approved", 6)

    with session_scope(engine) as session:
        history = [(h.version, h.action) for h in plan_history(session, plan_id)]
        assert history == [
            (1, "create"),
            (2, "edit"),
            (3, "reorder"),
            (4, "add"),
            (5, "drop"),
            (6, "approve"),
        ]
        first = get_plan_version(session, plan_id, 1)
        assert first.plan.tasks()[1].title == "Add and list todos"
        assert [t.code for t in first.plan.tasks()] == ["T1", "T2", "T3", "T4"]
        second = get_plan_version(session, plan_id, 2)
        assert second.plan.tasks()[1].title == "Add and list todos by due date"
        assert [t.code for t in get_plan_version(session, plan_id, 3).plan.tasks()] == [
            "T1",
            "T3",
            "T2",
            "T4",
        ]
        fourth = get_plan_version(session, plan_id, 4).plan.tasks()
        assert (fourth[-1].code, fourth[-1].target_files) == ("T5", ["README.md"])
        assert get_plan_version(session, plan_id, 6).status == "approved"
        assert first.status == "draft"
        with pytest.raises(NotFoundError):
            get_plan_version(session, plan_id, 7)
    # The task rows follow the newest version.
    assert _task_rows(engine, plan_id) == [
        ("T1", "Todo record"),
        ("T3", "Mark a todo done"),
        ("T2", "Add and list todos by due date"),
        ("T4", "Unit tests"),
    ]


def test_only_an_approved_plan_runs_and_editing_returns_it_to_draft(
    engine: Engine, plan_id: int
) -> None:
    with session_scope(engine) as session:
        with pytest.raises(PlanNotRunnable, match="has not been approved") as caught:
            ensure_runnable(get_plan(session, plan_id))
        assert caught.value.hint == f"Review it, then approve it: `devmatrix approve {plan_id}`."
        approve_plan(session, plan_id)
        ensure_runnable(get_plan(session, plan_id))
        again = approve_plan(session, plan_id)
        assert again.version == 2  # approving twice makes no new version
        edited = edit_task(session, plan_id, "T4", {"description": "pytest tests of the store"})
        assert (edited.status, edited.version, edited.approved_version) == ("draft", 3, None)
        with pytest.raises(PlanNotRunnable):
            ensure_runnable(edited)


def test_changes_that_break_the_plan_are_refused_and_change_nothing(
    engine: Engine, plan_id: int
) -> None:
    with session_scope(engine) as session:
        with pytest.raises(PlanningError, match="T4 depend on it"):
            drop_task(session, plan_id, "T3")
        with pytest.raises(PlanningError) as caught:
            edit_task(session, plan_id, "T3", {"requirements": ["REQ-9"]})
        assert "task T3 lists unknown requirement REQ-9" in str(caught.value)
        with pytest.raises(PlanningError) as caught:
            edit_task(session, plan_id, "T1", {"target_files": ["../escape.py"]})
        assert "climbs out of the project" in str(caught.value)
        with pytest.raises(PlanningError, match="cycle"):
            edit_task(session, plan_id, "T1", {"depends_on": ["T4"]})
        with pytest.raises(PlanningError, match="exactly the tasks of milestone"):
            reorder_tasks(session, plan_id, ["T3"])
        with pytest.raises(PlanningError, match="already exists"):
            add_task(
                session, plan_id, TaskSpec(code="T1", title="x", target_files=["x.py"]), after="T1"
            )
        with pytest.raises(PlanningError, match="no task T9"):
            edit_task(session, plan_id, "T9", {"title": "x"})
        with pytest.raises(PlanningError, match="not valid"):
            edit_task(session, plan_id, "T1", {"target_files": []})
    with session_scope(engine) as session:
        assert get_plan(session, plan_id).version == 1
        assert [h.action for h in plan_history(session, plan_id)] == ["create"]
    assert [code for code, _ in _task_rows(engine, plan_id)] == ["T1", "T2", "T3", "T4"]


def test_a_task_added_after_another_lands_right_after_it(engine: Engine, plan_id: int) -> None:
    with session_scope(engine) as session:
        task = TaskSpec(
            code="T5",
            title="Due date parsing",
            requirements=["REQ-1"],
            target_files=["todo/dates.py"],
        )
        add_task(session, plan_id, task, after="T2")
        assert [t.code for t in current_plan(session, plan_id).tasks()] == [
            "T1",
            "T2",
            "T5",
            "T3",
            "T4",
        ]
    assert [code for code, _ in _task_rows(engine, plan_id)] == ["T1", "T2", "T5", "T3", "T4"]


def test_an_edit_leaving_a_requirement_unserved_is_refused(engine: Engine, plan_id: int) -> None:
    with session_scope(engine) as session:
        edit_task(session, plan_id, "T4", {"requirements": ["REQ-1", "REQ-2"]})
        with pytest.raises(PlanningError) as caught:
            edit_task(session, plan_id, "T3", {"requirements": ["REQ-1"]})
        assert "requirement REQ-3 is not served by any task" in str(caught.value)
        assert get_plan(session, plan_id).version == 2
