"""`devmatrix.chat`: one chat turn, streamed from the backend as Server-Sent Events and reported as
work-done progress, ending in a Markdown document (the whole conversation) the client is asked to
show.

Each `$/progress` report on the client's workDoneToken carries the next piece of the answer as its
message (no percentage: the answer's length is not known), so the reports joined are the answer;
pieces arriving within `COALESCE_SECONDS` of each other go out as one report, so a fast model does
not flood the client. A build request has no pieces: its reply (a sentence naming the plan) is
reported whole, as is the answer of a backend that does not stream. Cancelling the progress stops
reading; the backend still finishes the turn and saves it in the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pygls.uris import from_fs_path

from devmatrix_lsp.arguments import argument, ident, text
from devmatrix_lsp.commands import command
from devmatrix_lsp.markdown import write_document
from devmatrix_lsp.progress import WorkProgress
from devmatrix_lsp.protocol import COMMAND_PROGRESS_TOKEN
from devmatrix_lsp.state import DevMatrixLanguageServer

logger = logging.getLogger(__name__)
COALESCE_SECONDS = 0.03


class Pieces:
    """Text that goes out in reports: what arrives within `window` seconds of the first unsent
    piece is sent together; `flush` sends what is left at once."""

    def __init__(self, send: Callable[[str], None], window: float = COALESCE_SECONDS) -> None:
        self.send = send
        self.window = window
        self.sent = ""
        self._unsent: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, piece: str) -> None:
        """Queue one piece; the first of a batch starts the window."""
        if not piece:
            return
        self._unsent.append(piece)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window, self.flush)

    def flush(self) -> None:
        """Send the queued pieces as one report, now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._unsent:
            joined = "".join(self._unsent)
            self._unsent.clear()
            self.sent += joined
            self.send(joined)


@command("devmatrix.chat")
async def chat(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Send a message; a question gets an answer, a build request a draft plan."""
    name, usage = "devmatrix.chat", '{"text": "…", "conversationId": 3}'
    data = argument(name, args, usage)
    message = text(name, data, "text", usage, required=True)
    conversation = ident(name, data, "conversationId", usage, required=False)
    if not conversation:
        created = await ls.backend.request(
            "POST", "/api/v1/conversations", json={"title": message[:80]}
        )
        conversation = int(created["id"])
    reply = await _stream_turn(ls, conversation, message)
    markdown = await ls.backend.request_text(f"/api/v1/conversations/{conversation}/export")
    path = write_document(
        ls.settings.data_folder(ls.root), f"chat/conversation-{conversation}.md", markdown
    )
    uri = from_fs_path(str(path)) or ""
    found: dict[str, Any] = {"conversationId": conversation, "kind": "answer", "uri": uri}
    if reply.get("plan_id"):
        found.update(kind="plan", planId=int(reply["plan_id"]))
        await ls.tracker.activate(int(reply["plan_id"]))
    if _shows_documents(ls):
        ls.tracker.later(_show(ls, uri))
    return found


async def _stream_turn(ls: DevMatrixLanguageServer, conversation: int, message: str) -> Any:
    """Read the turn's events, reporting the answer's pieces; returns the `done` reply."""
    token = COMMAND_PROGRESS_TOKEN.get()
    reading = asyncio.current_task()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        stopped = True
        if reading is not None:
            reading.cancel()

    progress = (
        WorkProgress(ls, "DevMatrix: chat", token=token, on_cancel=stop)
        if token is not None
        else None
    )
    pieces = Pieces(progress.say if progress is not None else (lambda _: None))
    if progress is not None:
        await progress.begin("Waiting for the model")
        progress.follow_cancel()
    path = f"/api/v1/conversations/{conversation}/messages"
    reply: Any = None
    try:
        try:
            async with contextlib.aclosing(
                ls.backend.events(path, json={"content": message})
            ) as events:
                async for event, data in events:
                    if event == "delta":
                        pieces.add(str(data.get("text", "")))
                    elif event == "done":
                        reply = data
        finally:
            pieces.flush()  # what arrived is reported, however the reading ended
    except asyncio.CancelledError:
        if not stopped or reading is None:  # the request itself was cancelled ($/cancelRequest)
            if progress is not None:
                progress.end("Cancelled; the backend still saves the answer.")
            raise
        reading.uncancel()  # the editor's stop, consumed here; the turn ends with an error
        if progress is not None:
            progress.end("Stopped; the backend still saves the answer.")
        raise JsonRpcRequestCancelled(
            message=(
                f"devmatrix.chat: stopped from the editor. The backend finishes the answer and "
                f"saves it in conversation {conversation} (its Markdown: "
                f"/api/v1/conversations/{conversation}/export)."
            )
        ) from None
    except BaseException:
        if progress is not None:
            progress.end("The chat failed.")
        raise
    answer = str(reply["reply"]["content"])
    if not pieces.sent:  # a build request's sentence, or a backend that answers whole
        pieces.add(answer)
        pieces.flush()
    elif pieces.sent != answer:
        logger.warning(
            "The streamed pieces differ from the saved answer of conversation %s.", conversation
        )
    if progress is not None:
        progress.end("Answered.")
    return reply


async def _show(ls: DevMatrixLanguageServer, uri: str) -> None:
    await ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))


def _shows_documents(ls: DevMatrixLanguageServer) -> bool:
    window = ls.client_capabilities.window if ls.client_capabilities else None
    return bool(window and window.show_document and window.show_document.support)
