"""Spec -> discovery -> plan -> atoms -> graph with scripted answers through the real LLM client."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from devmatrix.llm.client import LLMClient
from devmatrix.llm.scripted_provider import ScriptedAnswer, ScriptedProvider
from devmatrix.planning.errors import PlanningError
from devmatrix.planning.export import plan_export, plan_markdown
from devmatrix.planning.pipeline import plan_atoms, plan_from_spec
from devmatrix.planning.versions import approve_plan, drop_task, get_plan_version
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import (
    Atom,
    AtomDependency,
    DependencyGraph,
    DiscoveryDocument,
    ExecutionWave,
    MasterPlan,
    MasterPlanTask,
    MasterPlanVersion,
    Requirement,
    UsageRecord,
)


async def test_spec_becomes_a_saved_plan_with_atoms_and_graph(
    engine: Engine, client_for: Any, todo_answers: list[dict[str, Any]], todo_spec: str
) -> None:
    client, recorder = client_for(todo_answers)
    result = await plan_from_spec(client, engine, todo_spec)

    assert recorder.purposes() == [
        "discovery",
        "masterplan",
        "atoms:T1",
        "atoms:T2",
        "atoms:T3",
        "atoms:T4",
    ]
    assert recorder.requests[0].json_schema is not None
    assert "requirements" in recorder.requests[0].json_schema["properties"]
    # Later tasks are told what earlier tasks planned, so they use it instead of redefining it.
    assert "- todo/models.py::Todo: class Todo:" in recorder.requests[3].messages[0].content
    with session_scope(engine) as session:
        document = session.get(DiscoveryDocument, result.discovery_id)
        assert document is not None
        assert document.title == "Todo library"
        codes = session.exec(
            select(Requirement.code).where(Requirement.discovery_id == document.id)
        ).all()
        assert sorted(codes) == ["REQ-1", "REQ-2", "REQ-3"]
        plan = session.get(MasterPlan, result.plan_id)
        assert plan is not None
        assert (plan.status, plan.version) == ("draft", 1)
        tasks = session.exec(select(MasterPlanTask).where(MasterPlanTask.plan_id == plan.id)).all()
        assert sorted(t.code for t in tasks) == ["T1", "T2", "T3", "T4"]
        assert len(session.exec(select(MasterPlanVersion)).all()) == 1
        atoms = {a.key: a for a in session.exec(select(Atom)).all()}
        assert len(atoms) == 7
        method = atoms["todo/store.py::TodoStore.add"]
        task_of = {t.id: t.code for t in tasks}
        assert (method.kind, task_of[method.task_id]) == ("method", "T2")
        edges = {
            (session.get(Atom, e.from_atom_id).key, session.get(Atom, e.to_atom_id).key)  # type: ignore[union-attr]
            for e in session.exec(select(AtomDependency)).all()
        }
        assert edges == {
            ("todo/models.py::Todo", "todo/store.py::TodoStore.add"),
            ("todo/models.py::Todo", "todo/store.py::TodoStore.open_todos"),
            ("todo/store.py::TodoStore", "todo/store.py::TodoStore.add"),
            ("todo/store.py::TodoStore", "todo/store.py::TodoStore.open_todos"),
            ("todo/store.py::TodoStore", "todo/store.py::TodoStore.mark_done"),
            ("todo/store.py::TodoStore", "tests/test_store.py::test_add_and_list"),
            ("todo/store.py::TodoStore", "tests/test_store.py::test_mark_done"),
            ("todo/store.py::TodoStore.mark_done", "tests/test_store.py::test_mark_done"),
        }
        graph = session.exec(select(DependencyGraph)).one()
        assert (graph.node_count, graph.edge_count, graph.longest_chain, graph.cycles) == (
            7,
            8,
            3,
            [],
        )
        waves = session.exec(select(ExecutionWave).order_by("number")).all()
        assert [len(w.atom_keys) for w in waves] == [2, 4, 1]
        assert waves[2].atom_keys == ["tests/test_store.py::test_mark_done"]
        # Atom planning calls are charged to the plan.
        charged = session.exec(
            select(UsageRecord.purpose).where(UsageRecord.plan_id == plan.id)
        ).all()
        assert sorted(charged) == ["atoms:T1", "atoms:T2", "atoms:T3", "atoms:T4"]


async def test_export_lists_requirements_tasks_atoms_and_waves(
    engine: Engine, client_for: Any, todo_answers: list[dict[str, Any]], todo_spec: str
) -> None:
    client, _ = client_for(todo_answers)
    result = await plan_from_spec(client, engine, todo_spec)
    with session_scope(engine) as session:
        export = plan_export(session, result.plan_id)
    assert export["counts"] == {
        "phases": 3,
        "milestones": 3,
        "tasks": 4,
        "atoms": 7,
        "edges": 8,
        "waves": 3,
    }
    t2 = export["plan"]["phases"][1]["milestones"][0]["tasks"][0]
    assert [a["qualified_name"] for a in t2["atoms"]] == [
        "TodoStore",
        "TodoStore.add",
        "TodoStore.open_todos",
    ]
    markdown = plan_markdown(export)
    assert "# Todo library" in markdown
    assert "**REQ-3** Mark a todo as done by its number." in markdown
    assert "`todo/store.py::TodoStore.mark_done` method" in markdown


async def test_symbols_of_existing_code_in_the_output_folder_count_as_defined(
    engine: Engine,
    client_for: Any,
    todo_answers: list[dict[str, Any]],
    todo_spec: str,
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "todo").mkdir(parents=True)
    (workspace / "todo" / "clock.py").write_text(
        "import datetime\n\n\ndef today() -> datetime.date:\n    return datetime.date.today()\n",
        encoding="utf-8",
    )
    t1 = next(a for a in todo_answers if a["purpose"] == "atoms:T1")
    t1["answer"]["atoms"][0]["uses"].append("todo.clock.today")
    client, recorder = client_for(todo_answers)
    result = await plan_from_spec(client, engine, todo_spec, output_dir=str(workspace))
    assert result.atom_count == 7
    assert "- todo.clock.today" in recorder.requests[2].messages[0].content
    with session_scope(engine) as session:
        plan = session.get(MasterPlan, result.plan_id)
        assert plan is not None
        assert plan.output_dir == str(workspace)


async def test_failed_atoms_leave_a_draft_plan_that_can_be_atomized_again(
    engine: Engine, client_for: Any, todo_answers: list[dict[str, Any]], todo_spec: str
) -> None:
    broken = copy.deepcopy(todo_answers)
    t4 = next(a for a in broken if a["purpose"] == "atoms:T4")
    t4["answer"]["atoms"][1]["uses"].append("todo.store.TodoStore.delete")
    client, _ = client_for(broken)
    with pytest.raises(PlanningError) as caught:
        await plan_from_spec(client, engine, todo_spec, max_retries=0)
    assert str(caught.value).startswith("Plan 1 was saved as a draft without atoms")
    assert "uses unknown symbol 'todo.store.TodoStore.delete'" in str(caught.value)
    with session_scope(engine) as session:
        assert session.exec(select(Atom)).all() == []
        assert session.get(MasterPlan, 1) is not None

    atoms_only = [a for a in todo_answers if a["purpose"].startswith("atoms:")]
    for _ in range(2):  # planning atoms again replaces them, it never adds a second set
        client, _ = client_for(atoms_only)
        summary = await plan_atoms(client, engine, 1)
        assert (summary.node_count, summary.edge_count, len(summary.waves)) == (7, 8, 3)
    with session_scope(engine) as session:
        assert len(session.exec(select(Atom)).all()) == 7
        assert len(session.exec(select(AtomDependency)).all()) == 8
        assert len(session.exec(select(DependencyGraph)).all()) == 1
        assert len(session.exec(select(ExecutionWave)).all()) == 3


async def test_dropping_a_task_drops_its_atoms_and_refreshes_the_graph(
    engine: Engine, client_for: Any, todo_answers: list[dict[str, Any]], todo_spec: str
) -> None:
    client, _ = client_for(todo_answers)
    result = await plan_from_spec(client, engine, todo_spec)
    with session_scope(engine) as session:
        drop_task(session, result.plan_id, "T4")
    with session_scope(engine) as session:
        keys = sorted(session.exec(select(Atom.key)).all())
        assert not [k for k in keys if k.startswith("tests/")]
        graph = session.exec(select(DependencyGraph)).one()
        assert (graph.node_count, graph.edge_count, graph.longest_chain) == (5, 5, 2)
        waves = session.exec(select(ExecutionWave).order_by("number")).all()
        assert [w.atom_keys for w in waves] == [
            ["todo/models.py::Todo", "todo/store.py::TodoStore"],
            [
                "todo/store.py::TodoStore.add",
                "todo/store.py::TodoStore.mark_done",
                "todo/store.py::TodoStore.open_todos",
            ],
        ]


@pytest.mark.postgres
async def test_the_pipeline_and_versions_on_postgresql(
    postgres_url: str, todo_answers: list[dict[str, Any]], todo_spec: str
) -> None:
    engine = create_db_engine(postgres_url)
    migrate.upgrade(engine)
    scripted = ScriptedProvider([ScriptedAnswer.model_validate(a) for a in todo_answers])
    result = await plan_from_spec(LLMClient(scripted, engine=engine), engine, todo_spec)
    with session_scope(engine) as session:
        drop_task(session, result.plan_id, "T4")
        approve_plan(session, result.plan_id)
    with session_scope(engine) as session:
        export = plan_export(session, result.plan_id)
        assert (export["version"], export["status"]) == (3, "approved")
        assert export["counts"]["tasks"] == 3
        assert export["counts"]["atoms"] == 5  # the atoms of the dropped task went with it
        assert (export["counts"]["edges"], export["counts"]["waves"]) == (5, 2)
        assert len(get_plan_version(session, result.plan_id, 1).plan.tasks()) == 4
    engine.dispose()
