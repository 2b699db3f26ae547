"""Spec -> discovery -> plan -> atoms -> graph with scripted answers through the real LLM client."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from devmatrix.planning.export import plan_export, plan_markdown
from devmatrix.planning.pipeline import plan_from_spec
from devmatrix.storage.db import session_scope
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
    assert "todo/models.py::Todo" in recorder.requests[3].messages[0].content
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
