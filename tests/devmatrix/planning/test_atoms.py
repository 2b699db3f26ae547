"""Atom plans: duplicate and unknown symbols are fed back, then refused with the atom named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from devmatrix.planning.atom_graph import summarize_graph
from devmatrix.planning.atoms import atom_problems, generate_atoms, task_order
from devmatrix.planning.errors import PlanningError
from devmatrix.planning.schemas import AtomPlanSpec, PlanSpec
from devmatrix.planning.symbols import SymbolTable, import_root, module_of


def _answer(answers: list[dict[str, Any]], purpose: str) -> dict[str, Any]:
    return copy.deepcopy(next(a["answer"] for a in answers if a["purpose"] == purpose))


def _atom_answers(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [copy.deepcopy(a) for a in answers if a["purpose"].startswith("atoms:")]


def _replace(
    answers: list[dict[str, Any]], purpose: str, answer: dict[str, Any], times: int
) -> list[dict[str, Any]]:
    kept = [a for a in answers if a["purpose"] != purpose]
    return kept + [{"purpose": purpose, "answer": answer}] * times


async def test_a_symbol_defined_twice_is_fed_back_then_refused(
    client_for: Any, todo_answers: list[dict[str, Any]]
) -> None:
    plan = PlanSpec.model_validate(_answer(todo_answers, "masterplan"))
    t3 = _answer(todo_answers, "atoms:T3")
    # T3 redefines TodoStore.add, already planned by T2.
    t3["atoms"].append({**_answer(todo_answers, "atoms:T2")["atoms"][1], "requirements": ["REQ-3"]})
    client, recorder = client_for(_replace(_atom_answers(todo_answers), "atoms:T3", t3, 2))
    with pytest.raises(PlanningError) as caught:
        await generate_atoms(client, plan, max_retries=1)
    assert recorder.purposes() == ["atoms:T1", "atoms:T2", "atoms:T3", "atoms:T3"]
    message = "atom todo/store.py::TodoStore.add defines a symbol that is already defined"
    assert message in recorder.requests[-1].messages[-1].content
    assert message in str(caught.value)


async def test_an_unknown_used_symbol_is_named_with_its_atom(
    client_for: Any, todo_answers: list[dict[str, Any]]
) -> None:
    plan = PlanSpec.model_validate(_answer(todo_answers, "masterplan"))
    t1 = _answer(todo_answers, "atoms:T1")
    t1["atoms"][0]["uses"].append("todo.validation.check_title")
    client, recorder = client_for(_replace(_atom_answers(todo_answers), "atoms:T1", t1, 3))
    with pytest.raises(PlanningError) as caught:
        await generate_atoms(client, plan, max_retries=2)
    assert recorder.purposes() == ["atoms:T1"] * 3
    text = str(caught.value)
    assert "atom todo/models.py::Todo uses unknown symbol 'todo.validation.check_title'" in text
    assert (
        "not defined by any atom, the workspace, the standard library or a declared dependency"
        in text
    )
    assert "'todo.validation.check_title'" in recorder.requests[1].messages[-1].content


async def test_an_unknown_symbol_fixed_after_feedback_is_accepted(
    client_for: Any, todo_answers: list[dict[str, Any]]
) -> None:
    plan = PlanSpec.model_validate(_answer(todo_answers, "masterplan"))
    good = _answer(todo_answers, "atoms:T1")
    bad = copy.deepcopy(good)
    bad["atoms"][0]["uses"].append("attrs.define")
    answers = [a for a in _atom_answers(todo_answers) if a["purpose"] != "atoms:T1"]
    answers = [
        {"purpose": "atoms:T1", "answer": bad},
        {"purpose": "atoms:T1", "contains": "'attrs.define'", "answer": good},
        *answers,
    ]
    client, recorder = client_for(answers)
    planned = await generate_atoms(client, plan)
    assert len(planned) == 7
    assert recorder.purposes()[:2] == ["atoms:T1", "atoms:T1"]


async def test_workspace_and_declared_packages_resolve_used_symbols(
    client_for: Any, todo_answers: list[dict[str, Any]]
) -> None:
    plan = PlanSpec.model_validate(
        {**_answer(todo_answers, "masterplan"), "dependencies": ["Pydantic>=2"]}
    )
    t1 = _answer(todo_answers, "atoms:T1")
    t1["atoms"][0]["uses"] += ["pydantic.BaseModel", "todo.clock.today", "json.dumps", "len"]
    client, _ = client_for(_replace(_atom_answers(todo_answers), "atoms:T1", t1, 1))
    planned = await generate_atoms(
        client, plan, workspace_symbols=["todo.clock.today"], max_retries=0
    )
    todo = next(a for a in planned if a.key == "todo/models.py::Todo")
    assert todo.depends_on == ()  # outside symbols resolve but make no edge


async def test_atoms_outside_the_task_files_or_misnamed_methods_are_problems(
    client_for: Any, todo_answers: list[dict[str, Any]]
) -> None:
    plan = PlanSpec.model_validate(_answer(todo_answers, "masterplan"))
    t1 = _answer(todo_answers, "atoms:T1")
    t1["atoms"][0]["file"] = "todo/other.py"
    t1["atoms"].append(
        {
            **t1["atoms"][0],
            "file": "todo/models.py",
            "qualified_name": "Todo.close",
            "kind": "function",
        }
    )
    client, _ = client_for(_replace(_atom_answers(todo_answers), "atoms:T1", t1, 1))
    with pytest.raises(PlanningError) as caught:
        await generate_atoms(client, plan, max_retries=0)
    text = str(caught.value)
    assert (
        "atom todo/other.py::Todo is in todo/other.py, which is not a target file of task T1"
        in text
    )
    assert "atom todo/models.py::Todo.close: a method is named Class.method" in text
    assert "method atom" not in text  # a function is not checked for a class


async def test_a_method_needs_its_class_in_the_same_file(
    client_for: Any, todo_answers: list[dict[str, Any]]
) -> None:
    plan = PlanSpec.model_validate(_answer(todo_answers, "masterplan"))
    t3 = _answer(todo_answers, "atoms:T3")
    t3["atoms"][0]["qualified_name"] = "TodoList.mark_done"
    client, _ = client_for(_replace(_atom_answers(todo_answers), "atoms:T3", t3, 1))
    with pytest.raises(PlanningError) as caught:
        await generate_atoms(client, plan, max_retries=0)
    assert "method atom todo/store.py::TodoList.mark_done needs a class atom TodoList" in str(
        caught.value
    )


def test_symbol_table_resolves_local_qualified_tail_and_self_names() -> None:
    table = SymbolTable(dependencies=["Flask-Login>=0.6"])
    store = table.add("src/todo/store.py", "TodoStore")
    add = table.add("src/todo/store.py", "TodoStore.add")
    table.add("todo/a.py", "helper")
    table.add("todo/b.py", "helper")
    assert table.resolve("TodoStore", "src/todo/store.py", "TodoStore.add").atom == store
    assert table.resolve("todo.store.TodoStore", "x.py", "f").atom == store
    assert table.resolve("store.TodoStore.add", "x.py", "f").atom == add
    assert table.resolve("self.add", "src/todo/store.py", "TodoStore.get").atom == add
    assert table.resolve("self.items", "src/todo/store.py", "TodoStore.get").source == "attribute"
    assert table.has_class("src/todo/store.py", "TodoStore")
    assert not table.has_class("todo/a.py", "TodoStore")
    assert "ambiguous" in (table.resolve("helper", "x.py", "f").problem or "")
    assert table.resolve("todo.a.helper", "x.py", "f").atom == "todo/a.py::helper"
    assert table.resolve("flask_login.login_user", "x.py", "f").source == "dependency"
    assert table.resolve("pathlib.Path", "x.py", "f").source == "stdlib"
    assert table.resolve("ValueError", "x.py", "f").source == "builtin"
    assert table.resolve("todo.store", "x.py", "f").source == "module"
    assert table.resolve("todo.store.Missing", "x.py", "f").problem is not None
    assert module_of("pkg/__init__.py") == "pkg"
    assert import_root("PyYAML[extra]==6") == "pyyaml"


def test_tasks_are_planned_after_the_tasks_they_depend_on(
    todo_answers: list[dict[str, Any]],
) -> None:
    data = _answer(todo_answers, "masterplan")
    core = data["phases"][1]["milestones"][0]["tasks"]
    core.reverse()  # T3 (depends on T2) now comes first in plan order
    order = [t.code for t in task_order(PlanSpec.model_validate(data))]
    assert order == ["T1", "T2", "T3", "T4"]


def test_cycles_are_reported_and_condensed_into_one_wave() -> None:
    summary = summarize_graph(
        ["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")]
    )
    assert summary.cycles == [["b", "c"]]
    assert summary.waves == [["a"], ["b", "c"], ["d"]]
    assert summary.longest_chain == 4
    assert (summary.node_count, summary.edge_count) == (4, 4)
    empty = summarize_graph([], [])
    assert (empty.waves, empty.longest_chain) == ([], 0)


def test_a_method_may_extend_a_class_that_already_exists_in_the_workspace(
    todo_answers: list[dict[str, Any]],
) -> None:
    plan = PlanSpec.model_validate(_answer(todo_answers, "masterplan"))
    task = plan.tasks()[0]
    method = {
        "file": "todo/models.py",
        "qualified_name": "Todo.archive",
        "kind": "method",
        "signature": "def archive(self) -> None:",
        "intent": "Mark the todo archived.",
        "uses": ["self.archived"],
        "requirements": ["REQ-1"],
    }
    answer = AtomPlanSpec.model_validate({"task": "T1", "atoms": [method]})
    assert atom_problems(answer, task, SymbolTable(workspace=["todo.models.Todo"])) == []
    problems = atom_problems(answer, task, SymbolTable())
    assert problems == [
        "method atom todo/models.py::Todo.archive needs a class atom Todo in todo/models.py"
    ]
