"""`devmatrix.chat`: one chat turn, reported as work-done progress, ending in a Markdown document
(the whole conversation) that the client is asked to show.

The backend's chat route answers a message whole, so the answer arrives as one progress report;
streaming it token by token needs a streaming chat route on the backend, which is not built yet.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path

from devmatrix_lsp.arguments import argument, ident, text
from devmatrix_lsp.commands import command
from devmatrix_lsp.markdown import write_document
from devmatrix_lsp.progress import WorkProgress
from devmatrix_lsp.protocol import COMMAND_PROGRESS_TOKEN
from devmatrix_lsp.state import DevMatrixLanguageServer


@command("devmatrix.chat")
async def chat(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Send a message; a question gets an answer, a build request a draft plan."""
    name, usage = "devmatrix.chat", '{"text": "…", "conversationId": 3}'
    data = argument(name, args, usage)
    message = text(name, data, "text", usage, required=True)
    conversation = ident(name, data, "conversationId", usage, required=False)
    token = COMMAND_PROGRESS_TOKEN.get()
    progress = WorkProgress(ls, "DevMatrix: chat", token=token) if token is not None else None
    if progress is not None:
        await progress.begin("Waiting for the model")
    try:
        if not conversation:
            created = await ls.backend.request(
                "POST", "/api/v1/conversations", json={"title": message[:80]}
            )
            conversation = int(created["id"])
        reply = await ls.backend.request(
            "POST",
            f"/api/v1/conversations/{conversation}/messages",
            json={"content": message},
            long=True,
        )
    except BaseException:
        if progress is not None:
            progress.end("The chat failed.")
        raise
    answer = str(reply["reply"]["content"])
    if progress is not None:
        progress.report(1, 1, answer[:200])
        progress.end("Answered.")
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


async def _show(ls: DevMatrixLanguageServer, uri: str) -> None:
    await ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))


def _shows_documents(ls: DevMatrixLanguageServer) -> bool:
    window = ls.client_capabilities.window if ls.client_capabilities else None
    return bool(window and window.show_document and window.show_document.support)
