"""A saved plan as plain data (for JSON export and the API) and as Markdown."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from devmatrix.planning.discovery import load_discovery
from devmatrix.planning.versions import current_plan, get_plan
from devmatrix.storage.models import (
    Atom,
    AtomDependency,
    DependencyGraph,
    ExecutionWave,
    MasterPlanTask,
)


def plan_export(session: Session, plan_id: int) -> dict[str, Any]:
    """Everything about a plan: requirements, phases -> milestones -> tasks -> atoms, graph."""
    row = get_plan(session, plan_id)
    atoms = session.exec(select(Atom).where(Atom.plan_id == plan_id).order_by("position")).all()
    by_task = _atoms_by_task(session, plan_id, list(atoms))
    plan_data = current_plan(session, plan_id).model_dump(mode="json")
    for phase in plan_data["phases"]:
        for milestone in phase["milestones"]:
            for task in milestone["tasks"]:
                task["atoms"] = by_task.get(task["code"], [])
    discovery = (
        load_discovery(session, row.discovery_id).model_dump(mode="json")
        if row.discovery_id is not None
        else None
    )
    graph = _graph_export(session, plan_id, {a.id: a.key for a in atoms if a.id is not None})
    return {
        "id": plan_id,
        "title": row.title,
        "status": row.status,
        "version": row.version,
        "approved_version": row.approved_version,
        "discovery": discovery,
        "plan": plan_data,
        "graph": graph,
        "counts": plan_counts(plan_data, len(atoms), len(graph["edges"]), len(graph["waves"])),
    }


def _atoms_by_task(session: Session, plan_id: int, atoms: list[Atom]) -> dict[str, list[Any]]:
    tasks = session.exec(select(MasterPlanTask).where(MasterPlanTask.plan_id == plan_id)).all()
    task_codes = {t.id: t.code for t in tasks}
    by_task: dict[str, list[Any]] = {}
    for atom in atoms:
        by_task.setdefault(task_codes.get(atom.task_id, ""), []).append(
            {
                "key": atom.key,
                "file": atom.file,
                "qualified_name": atom.qualified_name,
                "kind": atom.kind,
                "signature": atom.signature,
                "intent": atom.intent,
                "uses": atom.uses,
                "requirements": atom.requirement_codes,
                "status": atom.status,
            }
        )
    return by_task


def _graph_export(session: Session, plan_id: int, keys: dict[int, str]) -> dict[str, Any]:
    edges = session.exec(select(AtomDependency).where(AtomDependency.plan_id == plan_id)).all()
    graph = session.exec(select(DependencyGraph).where(DependencyGraph.plan_id == plan_id)).first()
    waves: list[list[str]] = []
    if graph is not None:
        wave_rows = session.exec(
            select(ExecutionWave).where(ExecutionWave.graph_id == graph.id).order_by("number")
        ).all()
        waves = [list(w.atom_keys) for w in wave_rows]
    return {
        "nodes": len(keys),
        "edges": [{"from": keys[e.from_atom_id], "to": keys[e.to_atom_id]} for e in edges],
        "longest_chain": graph.longest_chain if graph else 0,
        "cycles": graph.cycles if graph else [],
        "waves": waves,
    }


def plan_counts(plan_data: dict[str, Any], atoms: int, edges: int, waves: int) -> dict[str, int]:
    """Phases, milestones, tasks, atoms, edges and waves of an exported plan."""
    milestones = [m for p in plan_data["phases"] for m in p["milestones"]]
    return {
        "phases": len(plan_data["phases"]),
        "milestones": len(milestones),
        "tasks": sum(len(m["tasks"]) for m in milestones),
        "atoms": atoms,
        "edges": edges,
        "waves": waves,
    }


def plan_markdown(export: dict[str, Any]) -> str:
    """The exported plan as a Markdown document."""
    counts = export["counts"]
    lines = [
        f"# {export['title']}",
        "",
        f"Plan {export['id']}, version {export['version']}, {export['status']}. "
        + ", ".join(f"{n} {k}" for k, n in counts.items())
        + ".",
    ]
    if export["discovery"]:
        lines += ["", "## Requirements", ""]
        for req in export["discovery"]["requirements"]:
            lines.append(f"- **{req['code']}** {req['text']}")
            lines += [f"  - accept: {c}" for c in req["acceptance_criteria"]]
    for phase in export["plan"]["phases"]:
        lines += ["", f"## {phase['name']}"]
        for milestone in phase["milestones"]:
            lines += ["", f"### {milestone['name']}", ""]
            for task in milestone["tasks"]:
                after = f"; after {', '.join(task['depends_on'])}" if task["depends_on"] else ""
                lines.append(
                    f"- **{task['code']}** {task['title']} "
                    f"({', '.join(task['requirements'])}; {', '.join(task['target_files'])}{after})"
                )
                lines += [
                    f"  - `{a['key']}` {a['kind']}: {a['intent']}" for a in task.get("atoms", [])
                ]
    graph = export["graph"]
    lines += ["", "## Waves", ""]
    lines += [
        f"{i}. {', '.join(f'`{k}`' for k in keys)}" for i, keys in enumerate(graph["waves"], 1)
    ]
    if graph["cycles"]:
        lines += ["", "## Cycles", ""] + [f"- {' <-> '.join(c)}" for c in graph["cycles"]]
    return "\n".join(lines) + "\n"
