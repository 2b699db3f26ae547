"""Follows the active plan: loads its atoms, check results and open reviews over HTTP, applies
backend events as they arrive, and republishes the diagnostics of the files that changed.

An event's own payload updates the index and the diagnostics at once (within milliseconds of
the event); details that need the REST API (new code, check results) follow in the background.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from lsprotocol import types

from devmatrix_lsp.atoms import AtomView, PlanIndex, ReviewView
from devmatrix_lsp.backend import Backend, BackendRefused, BackendUnavailable
from devmatrix_lsp.diagnostics import DiagnosticMemo, file_diagnostics
from devmatrix_lsp.placement import OutsideWorkspace, Placement
from devmatrix_lsp.progress import WorkProgress

logger = logging.getLogger(__name__)
Publish = Callable[[types.PublishDiagnosticsParams], None]


class PlanTracker:
    """The active plan's index and the diagnostics published for it."""

    def __init__(self, backend: Backend, place: Placement, publish: Publish) -> None:
        self.backend = backend
        self.place = place
        self.publish = publish
        self.index: PlanIndex | None = None
        self.run_progress: WorkProgress | None = None
        self.run_status: dict[str, Any] | None = None
        self.published: dict[str, list[types.Diagnostic]] = {}
        self.memo = DiagnosticMemo()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def plan_id(self) -> int | None:
        """The active plan's id."""
        return self.index.plan_id if self.index else None

    async def activate(self, plan_id: int) -> None:
        """Make `plan_id` the active plan and load it."""
        if self.plan_id != plan_id:
            self.clear()
            self.index = PlanIndex(plan_id)
        await self.refresh()

    def clear(self) -> None:
        """Forget the active plan and withdraw its diagnostics."""
        for uri in self.published:
            self.publish(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        self.published = {}
        self.memo.clear()
        self.index = None

    async def refresh(self) -> None:
        """Reload everything about the active plan and republish all of its files."""
        index = self.index
        if index is None:
            return
        base = f"/api/v1/plans/{index.plan_id}"
        atoms, results, reviews = await asyncio.gather(
            self.backend.all_pages(f"{base}/atoms"),
            self.backend.all_pages(f"{base}/validation"),
            self.backend.all_pages("/api/v1/review", {"plan_id": index.plan_id, "status": "open"}),
        )
        for data in atoms:
            index.put_atom(AtomView.from_api(data))
        index.put_results(results)
        index.reviews = {r["atom_id"]: _review(r) for r in reviews}
        self.publish_all()

    async def refresh_atom(self, atom_id: int) -> None:
        """Reload one atom and its check results, then republish its file."""
        index = self.index
        if index is None:
            return
        data, results = await asyncio.gather(
            self.backend.request("GET", f"/api/v1/atoms/{atom_id}"),
            self.backend.all_pages(f"/api/v1/atoms/{atom_id}/validation"),
        )
        if self.index is not index:
            return
        atom = AtomView.from_api(data)
        index.put_atom(atom)
        index.put_results(results)
        self.publish_file(atom.file)

    async def refresh_review(self, review_id: int) -> None:
        """Reload one review item (its proposed code and reason)."""
        data = await self.backend.request("GET", f"/api/v1/review/{review_id}")
        index = self.index
        if index is None or data.get("plan_id") != index.plan_id:
            return
        if data.get("status") == "open":
            index.reviews[int(data["atom_id"])] = _review(data)
        else:
            index.reviews.pop(int(data["atom_id"]), None)
        atom = index.atoms.get(int(data["atom_id"]))
        if atom is not None:
            self.publish_file(atom.file)

    def publish_file(self, file: str) -> None:
        """Publish the diagnostics of one workspace-relative file (an empty list clears)."""
        if self.index is None:
            return
        try:
            uri = self.place.uri(file)
        except OutsideWorkspace:
            logger.warning("Atom file %r is outside the workspace; no diagnostics", file)
            return
        found = file_diagnostics(self.index, self.place, file, self.memo)
        if found == self.published.get(uri, []):
            return  # what the editor shows is already right
        if found:
            self.published[uri] = found
        else:
            self.published.pop(uri, None)
        self.publish(types.PublishDiagnosticsParams(uri=uri, diagnostics=found))

    def publish_all(self) -> None:
        """Publish the diagnostics of every file of the active plan."""
        if self.index is not None:
            for file in list(self.index.by_file):
                self.publish_file(file)

    def on_event(self, event: dict[str, Any]) -> None:
        """Apply one backend event of the active plan (others are ignored)."""
        index = self.index
        if index is None or event.get("plan_id") != index.plan_id:
            return
        kind, payload = str(event.get("type")), event.get("payload") or {}
        apply = _APPLY.get(kind)
        if apply is not None:
            apply(self, index, payload)
        if self.run_progress is not None:
            self.run_progress.report(*index.counts())

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background; a failure is logged, never lost silently."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            if isinstance(error, BackendUnavailable | BackendRefused):
                logger.warning("Could not refresh from the backend: %s", error)
            else:
                logger.error("Refreshing from the backend failed", exc_info=error)

    def _atom(self, index: PlanIndex, payload: dict[str, Any]) -> AtomView | None:
        key = payload.get("atom")
        atom = index.atom_by_key(str(key)) if key is not None else None
        if atom is None and payload.get("atom_id") is not None:
            atom = index.atoms.get(int(payload["atom_id"]))
        return atom

    def _status(self, index: PlanIndex, payload: dict[str, Any], status: str) -> None:
        atom = self._atom(index, payload)
        if atom is None:
            self.later(self.refresh())  # atoms this index has not seen yet
            return
        atom.status = status
        if status == "failed":
            atom.last_error = str(payload.get("error") or atom.last_error or "")
        if status == "validated":
            index.results.get(atom.id, {}).pop(1, None)
        self.publish_file(atom.file)
        if status != "running":
            self.later(self.refresh_atom(atom.id))

    def _review_needed(self, index: PlanIndex, payload: dict[str, Any]) -> None:
        atom = self._atom(index, payload)
        if atom is None:
            self.later(self.refresh())
            return
        atom.status = "review"
        review_id = int(payload.get("review_id") or 0)
        index.reviews[atom.id] = ReviewView(
            id=review_id, atom_id=atom.id, confidence=float(payload.get("confidence") or 0.0)
        )
        self.publish_file(atom.file)
        if review_id:
            self.later(self.refresh_review(review_id))

    def _review_resolved(self, index: PlanIndex, payload: dict[str, Any]) -> None:
        atom = self._atom(index, payload)
        if atom is None:
            return
        index.reviews.pop(atom.id, None)
        if payload.get("status") == "approved":
            atom.status = "approved"
        self.publish_file(atom.file)
        self.later(self.refresh_atom(atom.id))

    def _run_finished(self, index: PlanIndex, payload: dict[str, Any]) -> None:
        status = str(payload.get("status") or "finished")
        self.run_status = {"planId": index.plan_id, "status": status, **payload}
        if self.run_progress is not None:
            self.run_progress.end(f"Run {status}.")
            self.run_progress = None
        self.later(self.refresh())  # levels 2-4 are recorded at the end of the run

    def _run_started(self, index: PlanIndex, payload: dict[str, Any]) -> None:
        self.run_status = {"planId": index.plan_id, "status": "running", **payload}


def _review(data: dict[str, Any]) -> ReviewView:
    return ReviewView(
        id=int(data["id"]),
        atom_id=int(data["atom_id"]),
        confidence=float(data.get("confidence") or 0.0),
        reason=str(data.get("reason") or ""),
        proposed_code=data.get("proposed_code"),
    )


_APPLY: dict[str, Callable[[PlanTracker, PlanIndex, dict[str, Any]], None]] = {
    "atom_started": lambda t, i, p: t._status(i, p, "running"),
    "atom_validated": lambda t, i, p: t._status(i, p, "validated"),
    "atom_failed": lambda t, i, p: t._status(i, p, "failed"),
    "review_needed": PlanTracker._review_needed,
    "review_resolved": PlanTracker._review_resolved,
    "run_started": PlanTracker._run_started,
    "run_finished": PlanTracker._run_finished,
    "atoms_created": lambda t, i, p: t.later(t.refresh()),
    "plan_updated": lambda t, i, p: t.later(t.refresh()),
}
