"""`devmatrix.chat` over stdio against the real private backend with the scripted model, which
streams its answer in pieces: the answer arrives as several progress reports that join into the
saved answer; a build request still becomes a plan; the editor's cancel stops reading while the
backend saves the turn; a failing model's `error` event is a JSON-RPC error with its detail."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.uris import to_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.devmatrix_lsp.conftest import start_on_scripted_backend

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "execution"
ANSWER = (
    "An atom is one top-level symbol of about ten lines: a function, a method, a class shell "
    "or a block of constants. Each has a planned signature and the symbols it uses:\n\n"
    "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\n\n"
    "It is generated, checked and retried on its own."
)
LONG_ANSWER = " ".join(f"Piece {n} of a long answer that takes a while." for n in range(40))


def chat_answers(folder: Path) -> Path:
    """The calc plan's answers, two questions' answers and a build request; a third question
    finds no prepared answer, so the model fails in the middle of the turn."""
    calc = json.loads((FIXTURES / "calc_answers.json").read_text(encoding="utf-8"))["answers"]
    extra = [
        {"purpose": "intent", "contains": "What", "answer": {"intent": "question"}},
        {"purpose": "intent", "contains": "long", "answer": {"intent": "question"}},
        {"purpose": "intent", "contains": "Why", "answer": {"intent": "question"}},
        {"purpose": "intent", "contains": "calc", "answer": {"intent": "build"}},
        {"purpose": "chat", "answer": ANSWER},
        {"purpose": "chat", "answer": LONG_ANSWER},
    ]
    path = folder / "chat_answers.json"
    path.write_text(json.dumps({"answers": extra + calc}), encoding="utf-8")
    return path


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "devmatrix_lsp"])
)
async def client(lsp_client: LanguageClient, tmp_path: Path) -> AsyncIterator[LanguageClient]:
    """A VS Code client on a private backend with the scripted model."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    await start_on_scripted_backend(
        lsp_client, "visual-studio-code", workspace, chat_answers(tmp_path), tmp_path / "data"
    )
    lsp_client.database = tmp_path / "data" / "devmatrix.db"
    yield lsp_client
    await lsp_client.shutdown_session()


async def chat(client: LanguageClient, argument: dict[str, Any], token: str) -> Any:
    """`devmatrix.chat` with a client-made progress token."""
    client.progress_reports[token] = []
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="devmatrix.chat", arguments=[argument], work_done_token=token
        )
    )


def pieces(client: LanguageClient, token: str) -> list[str]:
    """The messages of the progress reports on `token`, in order."""
    return [
        r.message
        for r in client.progress_reports[token]
        if isinstance(r, types.WorkDoneProgressReport) and r.message
    ]


def document(uri: str) -> str:
    """The text of the Markdown file at `uri` (small and local: reading it does not stall)."""
    return Path(to_fs_path(uri) or "").read_text(encoding="utf-8")


def saved(database: Path, conversation: int) -> list[tuple[str, str]]:
    """The conversation's messages as the backend saved them (role, content)."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT role, content FROM message WHERE conversation_id = ? ORDER BY id",
            (conversation,),
        ).fetchall()
    return [(str(role), str(content)) for role, content in rows]


async def ask_the_long_question(
    client: LanguageClient, conversation: int, token: str
) -> asyncio.Future[Any]:
    """Send the question whose answer streams for seconds (request id = `token`); return once
    its first piece has been reported, with the request still running."""
    client.progress_reports[token] = []
    asking = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(
                command="devmatrix.chat",
                arguments=[{"text": "a long one, please", "conversationId": conversation}],
                work_done_token=token,
            ),
            msg_id=token,
        )
    )
    deadline = time.monotonic() + 60
    while not pieces(client, token):
        assert time.monotonic() < deadline, "no piece of the long answer arrived"
        await asyncio.sleep(0.01)
    return asking


async def until_the_long_answer_is_saved(client: LanguageClient, conversation: int) -> None:
    deadline = time.monotonic() + 60
    while saved(client.database, conversation)[-1] != ("assistant", LONG_ANSWER):
        assert time.monotonic() < deadline, saved(client.database, conversation)
        await asyncio.sleep(0.1)


async def test_an_answer_streams_as_several_reports_and_a_build_request_is_a_plan(
    client: LanguageClient,
) -> None:
    answer = await chat(client, {"text": "What is an atom?"}, "q-1")
    assert answer["kind"] == "answer"
    conversation = answer["conversationId"]
    reports = pieces(client, "q-1")
    assert len(reports) > 1, reports
    assert "".join(reports) == ANSWER
    assert saved(client.database, conversation)[-1] == ("assistant", ANSWER)
    assert ANSWER in document(answer["uri"])
    kinds = [r.kind for r in client.progress_reports["q-1"]]
    assert kinds[0] == "begin"
    assert kinds[-1] == "end"

    build = await chat(
        client, {"text": "build a calc with add", "conversationId": conversation}, "b-1"
    )
    assert build["kind"] == "plan"
    assert isinstance(build["planId"], int)
    sentence = saved(client.database, conversation)[-1]
    assert sentence[0] == "assistant"
    assert "".join(pieces(client, "b-1")) == sentence[1]  # the reply, reported whole


async def test_cancelling_the_progress_stops_reading_and_the_backend_still_saves_the_turn(
    client: LanguageClient,
) -> None:
    first = await chat(client, {"text": "What is an atom?"}, "q-1")
    conversation = first["conversationId"]
    asking = await ask_the_long_question(client, conversation, "long-1")
    client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL,
        types.WorkDoneProgressCancelParams(token="long-1"),
    )
    with pytest.raises(JsonRpcException) as stopped:
        await asyncio.wait_for(asking, 30)
    assert stopped.value.code == types.LSPErrorCodes.RequestCancelled
    assert f"conversation {conversation}" in stopped.value.message
    received = "".join(pieces(client, "long-1"))
    assert received, "no piece before the stop"
    assert len(received) < len(LONG_ANSWER), "the stop came after the whole answer"
    assert client.progress_reports["long-1"][-1].kind == "end"
    await until_the_long_answer_is_saved(client, conversation)


async def test_cancelling_the_request_ends_its_progress_and_the_backend_still_saves_the_turn(
    client: LanguageClient,
) -> None:
    """`$/cancelRequest` (an editor dropping the request, not the user's stop button)."""
    first = await chat(client, {"text": "What is an atom?"}, "q-1")
    conversation = first["conversationId"]
    asking = await ask_the_long_question(client, conversation, "long-2")
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="long-2"))
    with pytest.raises(JsonRpcException) as dropped:
        await asyncio.wait_for(asking, 30)
    assert dropped.value.code == types.LSPErrorCodes.RequestCancelled
    received = "".join(pieces(client, "long-2"))
    assert len(received) < len(LONG_ANSWER), "the cancel came after the whole answer"
    # The answer to the request goes out when it is cancelled; the reading stops just after.
    deadline = time.monotonic() + 30
    while not isinstance(end := client.progress_reports["long-2"][-1], types.WorkDoneProgressEnd):
        assert time.monotonic() < deadline, "the progress did not end"
        await asyncio.sleep(0.01)
    assert end.message == "Cancelled; the backend still saves the answer."
    received = "".join(pieces(client, "long-2"))
    assert len(received) < len(LONG_ANSWER), "the reading went on to the whole answer"
    await until_the_long_answer_is_saved(client, conversation)
    # The server goes on serving, and dropping a request did not mark the backend unreachable.
    status = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="devmatrix.status")
    )
    assert status["state"] == "connected", status


async def test_a_model_failing_in_the_middle_of_the_turn_is_an_error_with_its_detail(
    client: LanguageClient,
) -> None:
    first = await chat(client, {"text": "What is an atom?"}, "q-1")
    conversation = first["conversationId"]
    await chat(client, {"text": "a long one", "conversationId": conversation}, "long-1")
    before = saved(client.database, conversation)
    with pytest.raises(JsonRpcException) as failed:
        await chat(client, {"text": "Why so?", "conversationId": conversation}, "q-2")
    assert failed.value.code == -32803  # RequestFailed: a valid request the backend could not do
    assert "devmatrix.chat" in failed.value.message
    assert "scripted" in failed.value.message.lower(), failed.value.message
    assert "the backend failed (503)" in failed.value.message, failed.value.message
    assert client.progress_reports["q-2"][-1].kind == "end"
    assert saved(client.database, conversation) == before  # nothing half-saved
    assert (await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="devmatrix.status", arguments=[{}])
    ))["state"] == "connected"  # fmt: skip
