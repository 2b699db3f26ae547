"""Read commands for editor views that LSP has no words for (a plan tree, a review queue):
`devmatrix.plan.tree` and `devmatrix.review.list`, shaped as the VS Code extension reads them."""

from __future__ import annotations

import asyncio
from typing import Any

from devmatrix_lsp.arguments import argument, bad_arguments, ident
from devmatrix_lsp.backend import BackendRefused
from devmatrix_lsp.commands import command
from devmatrix_lsp.state import DevMatrixLanguageServer

REVIEW_STATES = ("open", "approved", "rejected", "edited")
NO_PLAN = "there is no active plan; create one with devmatrix.plan.fromSpec or .fromFile, or pass"


def _plan_id(ls: DevMatrixLanguageServer, name: str, data: dict[str, Any], usage: str) -> int:
    plan_id = ident(name, data, "planId", usage, required=False) or ls.tracker.plan_id
    if not plan_id:
        raise bad_arguments(name, f"{NO_PLAN} `planId`.", usage)
    return plan_id


@command("devmatrix.plan.tree")
async def plan_tree(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Phases -> milestones -> tasks -> atoms (with ids, state, confidence) and the run."""
    name, usage = "devmatrix.plan.tree", '{"planId": 4} (or {} for the active plan)'
    plan_id = _plan_id(ls, name, argument(name, args, usage), usage)
    base = f"/api/v1/plans/{plan_id}"
    detail, atoms = await asyncio.gather(
        ls.backend.request("GET", base), ls.backend.all_pages(f"{base}/atoms")
    )
    try:
        run: dict[str, Any] | None = await ls.backend.request("GET", f"{base}/execution")
    except BackendRefused:
        run = None
    by_key = {a["key"]: a for a in atoms}
    phases = (detail.get("plan") or {}).get("phases", [])
    for phase in phases:
        for milestone in phase.get("milestones", []):
            for task in milestone.get("tasks", []):
                task["atoms"] = [
                    _atom(a, by_key.get(a.get("key"), {})) for a in task.get("atoms", [])
                ]
    return {
        "planId": plan_id,
        "title": detail.get("title"),
        "status": detail.get("status"),
        "version": detail.get("version"),
        "phases": phases,
        "run": run,
    }


def _atom(planned: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "status", "confidence", "last_error", "start_line", "end_line")
    return {**planned, **{k: live.get(k) for k in keys if k in live}}


@command("devmatrix.review.list")
async def review_list(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """The plan's review items (open ones by default), each with its atom's key and file."""
    name, usage = "devmatrix.review.list", '{"planId": 4, "status": "open" | "all"}'
    data = argument(name, args, usage)
    plan_id = _plan_id(ls, name, data, usage)
    wanted = data.get("status", "open")
    if wanted not in ("all", *REVIEW_STATES):
        raise bad_arguments(name, f"`status` must be one of open, all; not {wanted!r}.", usage)
    states = REVIEW_STATES if wanted == "all" else (wanted,)
    pages = await asyncio.gather(
        *(
            ls.backend.all_pages("/api/v1/review", {"plan_id": plan_id, "status": s})
            for s in states
        ),
        ls.backend.all_pages(f"/api/v1/plans/{plan_id}/atoms"),
    )
    atoms = {a["id"]: a for a in pages[-1]}
    items = sorted((i for page in pages[:-1] for i in page), key=lambda i: i["id"])
    for item in items:
        atom = atoms.get(item["atom_id"])
        item["atom"] = (
            {"key": atom["key"], "file": atom["file"], "qualified_name": atom["qualified_name"]}
            if atom
            else None
        )
    return {"items": items}
