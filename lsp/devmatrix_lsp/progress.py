"""Work-done progress for planning, runs and chat: `window/workDoneProgress/create` + `$/progress`,
percentage from atoms done, or messages alone (a chat answer's pieces); a cancel from the editor
calls `on_cancel` (the run's cancel, or the chat's stop reading)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

logger = logging.getLogger(__name__)


class WorkProgress:
    """One progress bar in the editor (nothing is sent when the client has no progress support)."""

    def __init__(
        self,
        ls: LanguageServer,
        title: str,
        *,
        token: types.ProgressToken | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        self.ls = ls
        self.title = title
        self.token = token
        self.on_cancel = on_cancel
        self.active = False
        self.last_percent = -1

    async def begin(self, message: str = "") -> None:
        """Create the token (unless the client gave one) and show the bar."""
        if self.token is None:
            if not _supported(self.ls):
                return
            self.token = f"devmatrix-{uuid.uuid4().hex[:12]}"
            try:
                await self.ls.work_done_progress.create_async(self.token)
            except JsonRpcException as exc:
                logger.warning("The client refused a progress bar: %s", exc)
                self.token = None
                return
        self.ls.work_done_progress.begin(
            self.token,
            types.WorkDoneProgressBegin(
                title=self.title,
                cancellable=self.on_cancel is not None,
                message=message or None,
                percentage=0,
            ),
        )
        self.active = True

    def report(self, done: int, total: int, message: str | None = None) -> None:
        """Show `done` of `total` (skipped when the percentage did not move and no message)."""
        if not self.active or self.token is None:
            return
        percent = int(100 * done / total) if total else 0
        if percent == self.last_percent and message is None:
            return
        self.last_percent = percent
        self.ls.work_done_progress.report(
            self.token,
            types.WorkDoneProgressReport(
                percentage=percent, message=message or f"{done}/{total} atoms"
            ),
        )

    def say(self, message: str) -> None:
        """Report a message without a percentage (work whose size is not known)."""
        if self.active and self.token is not None:
            self.ls.work_done_progress.report(
                self.token, types.WorkDoneProgressReport(message=message)
            )

    def follow_cancel(self) -> None:
        """Call `on_cancel` when the editor cancels this bar. pygls cancels the token's future on
        `window/workDoneProgress/cancel`; the run's bar does not need this (server.py calls it)."""
        if not self.active or self.token is None or self.on_cancel is None:
            return
        future = self.ls.work_done_progress.tokens.get(self.token)
        on_cancel = self.on_cancel
        if future is not None:
            future.add_done_callback(lambda done: on_cancel() if done.cancelled() else None)

    def end(self, message: str) -> None:
        """Close the bar with a final message."""
        if not self.active or self.token is None:
            return
        self.active = False
        self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        self.ls.work_done_progress.tokens.pop(self.token, None)


def _supported(ls: LanguageServer) -> bool:
    window = ls.client_capabilities.window if ls.client_capabilities else None
    return bool(window and window.work_done_progress)
