"""Markdown documents the editor opens: a plan (`plans/plan-<id>.md`) and a chat
(`chat/conversation-<id>.md`), written under the data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plan_markdown(detail: dict[str, Any]) -> str:
    """A plan's requirements, phases, milestones, tasks and atoms as Markdown."""
    out = [
        f"# {detail.get('title') or 'Plan'} (plan {detail['id']})",
        "",
        f"Status: **{detail.get('status')}**, version {detail.get('version')}"
        f" (approved: {detail.get('approved_version') or 'not yet'}).",
        "",
    ]
    discovery = detail.get("discovery") or {}
    if discovery.get("requirements"):
        out += ["## Requirements", ""]
        for requirement in discovery["requirements"]:
            out.append(f"- **{requirement.get('code')}** {requirement.get('text')}")
            out += [f"  - {c}" for c in requirement.get("acceptance_criteria", [])]
        out.append("")
    for phase in (detail.get("plan") or {}).get("phases", []):
        out += [f"## {phase.get('name')}", ""]
        for milestone in phase.get("milestones", []):
            out += [f"### {milestone.get('name')}", ""]
            for task in milestone.get("tasks", []):
                out.append(_task_line(task))
                out += [
                    f"  - `{a.get('key')}` {a.get('kind')}: {a.get('signature') or ''}".rstrip()
                    for a in task.get("atoms", [])
                ]
            out.append("")
    counts = detail.get("counts") or {}
    if counts:
        out += ["## Counts", "", ", ".join(f"{k}: {v}" for k, v in counts.items()), ""]
    return "\n".join(out)


def _task_line(task: dict[str, Any]) -> str:
    after = f" (after {', '.join(task['depends_on'])})" if task.get("depends_on") else ""
    files = ", ".join(f"`{f}`" for f in task.get("target_files", []))
    return f"- **{task.get('code')}** {task.get('title')}{after} — {files}"


def write_document(folder: Path, relative: str, text: str) -> Path:
    """Write `text` to `folder/relative` (creating folders) and return the path."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
