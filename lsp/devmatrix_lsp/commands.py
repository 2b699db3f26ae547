"""Commands (workspace/executeCommand) for status, chat, plans and runs; each takes one JSON
object and answers one. Review and atom commands are in review_commands.py."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pygls.exceptions import JsonRpcException
from pygls.uris import from_fs_path, to_fs_path

from devmatrix_lsp.arguments import (
    argument,
    as_rpc_error,
    bad_arguments,
    ident,
    range_of,
    text,
)
from devmatrix_lsp.backend import BackendRefused, BackendUnavailable
from devmatrix_lsp.markdown import plan_markdown, write_document
from devmatrix_lsp.progress import WorkProgress
from devmatrix_lsp.protocol import COMMAND_PROGRESS_TOKEN
from devmatrix_lsp.server import server
from devmatrix_lsp.state import DevMatrixLanguageServer

Handler = Callable[..., Awaitable[dict[str, Any]]]


def command(name: str) -> Callable[[Handler], Handler]:
    """Register a command whose backend failures become JSON-RPC errors for a person."""

    def register(func: Handler) -> Handler:
        @functools.wraps(func)
        async def run(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
            try:
                return await func(ls, *args)
            except (BackendUnavailable, BackendRefused) as exc:
                raise as_rpc_error(name, exc) from None
            except OSError as exc:
                raise as_rpc_error(name, exc) from None

        server.command(name)(run)
        return func

    return register


@command("devmatrix.status")
async def status(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Which backend is in use, whether it answers, the active plan and its run."""
    argument("devmatrix.status", args, "no argument or {}")
    backend = ls.backend
    found: dict[str, Any] = {"backend": backend.base_url or backend.settings.backend_url}
    try:
        await backend.request("GET", "/api/v1/health/live")
    except (BackendUnavailable, BackendRefused) as exc:
        ls.show_error(str(exc))
        return {**found, "state": "unreachable", "message": str(exc)}
    found.update(backend=backend.base_url, state=backend.state)
    plan_id = ls.tracker.plan_id
    if plan_id is not None:
        found["planId"] = plan_id
        # The backend's own run status (cost, counts), not a summary of the last event.
        found["run"] = await backend.request("GET", f"/api/v1/plans/{plan_id}/execution")
    return found


async def _plan_from_text(ls: DevMatrixLanguageServer, spec: str, where: str) -> dict[str, Any]:
    if not spec.strip():
        raise JsonRpcException(message=f"{where} is empty; write the request first.", code=-32602)
    progress = WorkProgress(ls, "DevMatrix: planning", token=COMMAND_PROGRESS_TOKEN.get())
    await progress.begin(f"Planning from {where}")
    try:
        created = await ls.backend.request("POST", "/api/v1/plans", json={"spec": spec}, long=True)
    except BaseException:
        progress.end("Planning failed.")
        raise
    progress.end(f"Plan {created['id']} is ready for review.")
    return await _show(ls, int(created["id"]))


async def _show(ls: DevMatrixLanguageServer, plan_id: int) -> dict[str, Any]:
    detail = await ls.backend.request("GET", f"/api/v1/plans/{plan_id}")
    await ls.tracker.activate(plan_id)
    path = write_document(
        ls.settings.data_folder(ls.root), f"plans/plan-{plan_id}.md", plan_markdown(detail)
    )
    return {"planId": plan_id, "uri": from_fs_path(str(path))}


@command("devmatrix.plan.fromFile")
async def plan_from_file(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Plan from the whole text of a file (open in the editor or on disk)."""
    usage = '{"uri": "file:///…/spec.md"}'
    data = argument("devmatrix.plan.fromFile", args, usage)
    uri = text("devmatrix.plan.fromFile", data, "uri", usage, required=True)
    return await _plan_from_text(ls, _document_text(ls, "devmatrix.plan.fromFile", uri, usage), uri)


@command("devmatrix.plan.fromSelection")
async def plan_from_selection(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Plan from the selected text of a document."""
    name, usage = "devmatrix.plan.fromSelection", '{"uri": …, "range": {"start": …, "end": …}}'
    data = argument(name, args, usage)
    uri = text(name, data, "uri", usage, required=True)
    chosen = range_of(name, data, usage)
    whole = _document_text(ls, name, uri, usage)
    lines = whole.splitlines(keepends=True)
    first, last = chosen.start.line, chosen.end.line
    if first >= len(lines) or (first, chosen.start.character) > (last, chosen.end.character):
        raise bad_arguments(name, "`range` is outside the document or reversed.", usage)
    start = sum(map(len, lines[:first])) + chosen.start.character
    end = sum(map(len, lines[:last])) + chosen.end.character
    return await _plan_from_text(ls, whole[start:end], f"the selection in {uri}")


@command("devmatrix.plan.fromSpec")
async def plan_from_spec(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Plan from a spec file named by an absolute or workspace-relative path."""
    name, usage = "devmatrix.plan.fromSpec", '{"path": "docs/spec.md"}'
    raw = text(name, argument(name, args, usage), "path", usage, required=True)
    path = Path(raw) if Path(raw).is_absolute() else (ls.root or Path.cwd()) / raw
    try:
        spec = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad_arguments(name, f"cannot read {path}: {exc}.", usage) from None
    return await _plan_from_text(ls, spec, str(path))


@command("devmatrix.plan.show")
async def plan_show(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Write the plan as Markdown and make it the active plan."""
    name, usage = "devmatrix.plan.show", '{"planId": 4} (or {} for the active plan)'
    return await _show(ls, _plan_id(ls, name, argument(name, args, usage), usage))


@command("devmatrix.plan.approve")
async def plan_approve(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Approve the plan's current version so it can run."""
    name, usage = "devmatrix.plan.approve", '{"planId": 4} (or {} for the active plan)'
    plan_id = _plan_id(ls, name, argument(name, args, usage), usage)
    approved = await ls.backend.request("POST", f"/api/v1/plans/{plan_id}/approve")
    await ls.tracker.activate(plan_id)
    return {"planId": plan_id, "status": approved["status"]}


@command("devmatrix.run.start")
async def run_start(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Start (or resume after a stop) the plan's run, with a cancellable progress bar."""
    name, usage = "devmatrix.run.start", '{"planId": 4} (or {} for the active plan)'
    plan_id = _plan_id(ls, name, argument(name, args, usage), usage)
    await ls.tracker.activate(plan_id)
    started: dict[str, Any] = await ls.backend.request(
        "POST", f"/api/v1/plans/{plan_id}/execution/start"
    )
    tracker = ls.tracker
    if tracker.run_progress is not None:
        tracker.run_progress.end("Replaced by a new run.")

    def cancel() -> None:
        tracker.later(_control(ls, plan_id, "cancel"))

    tracker.run_progress = WorkProgress(
        ls,
        f"DevMatrix: run of plan {plan_id}",
        token=COMMAND_PROGRESS_TOKEN.get(),
        on_cancel=cancel,
    )
    tracker.run_status = {"planId": plan_id, **started}
    await tracker.run_progress.begin("Generating atoms")
    if tracker.index is not None and tracker.run_progress is not None:
        tracker.run_progress.report(*tracker.index.counts())
    return started


async def _control(ls: DevMatrixLanguageServer, plan_id: int, action: str) -> None:
    answer = await ls.backend.request("POST", f"/api/v1/plans/{plan_id}/execution/{action}")
    ls.tracker.run_status = {"planId": plan_id, **answer}


def _run_control(action: str) -> Handler:
    name = f"devmatrix.run.{action}"
    usage = '{"planId": 4} (or {} for the active plan)'

    async def control(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
        plan_id = _plan_id(ls, name, argument(name, args, usage), usage)
        answer: dict[str, Any] = await ls.backend.request(
            "POST", f"/api/v1/plans/{plan_id}/execution/{action}"
        )
        ls.tracker.run_status = {"planId": plan_id, **answer}
        return answer

    control.__doc__ = f"{action.capitalize()} the plan's run."
    return command(name)(control)


run_pause = _run_control("pause")
run_resume = _run_control("resume")
run_cancel = _run_control("cancel")


def _plan_id(ls: DevMatrixLanguageServer, name: str, data: dict[str, Any], usage: str) -> int:
    plan_id = ident(name, data, "planId", usage, required=False) or ls.tracker.plan_id
    if not plan_id:
        raise bad_arguments(name, "there is no active plan and no `planId`.", usage)
    return plan_id


def _document_text(ls: DevMatrixLanguageServer, name: str, uri: str, usage: str) -> str:
    document = ls.documents.get(uri)
    if document is not None:
        return document.text
    path = to_fs_path(uri)
    try:
        return Path(path or "").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad_arguments(name, f"cannot read {uri}: {exc}.", usage) from None


# The other command modules register through `command` above when imported.
from devmatrix_lsp import chat, review_commands, views  # noqa: E402, F401
