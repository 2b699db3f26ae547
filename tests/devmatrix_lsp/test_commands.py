"""Each command of the contract against a fake backend on loopback: chat, plans from a file,
run controls, review approve / reject / edit, apply and regenerate atoms, the apply-all source
action, and settings changed while running."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.uris import from_fs_path, to_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.devmatrix_lsp.conftest import OPS, atom
from tests.devmatrix_lsp.fake_backend import TOKEN, FakeBackend
from tests.devmatrix_lsp.workspace_edit import apply_edit

CONFIG = ClientServerConfig(server_command=[sys.executable, "-m", "devmatrix_lsp"])
NEW_ADD = "def add(a, b):\n    return b + a\n"


@pytest_lsp.fixture(config=CONFIG, params=["visual-studio-code", "emacs"])
async def client(
    lsp_client: LanguageClient, fake: FakeBackend, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[LanguageClient]:
    """A client (VS Code or Emacs capabilities) on the fake, applying edits to disk."""

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        apply_edit(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    (tmp_path / "calc").mkdir()
    (tmp_path / "calc" / "ops.py").write_text(OPS, encoding="utf-8")
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(request.param),
            root_uri=from_fs_path(str(tmp_path)),
            initialization_options={
                "backendUrl": fake.url,
                "token": TOKEN,
                "dataDir": str(tmp_path / "data"),
            },
        )
    )
    lsp_client.root = tmp_path
    lsp_client.editor = request.param
    yield lsp_client
    await lsp_client.shutdown_session()


async def command(
    client: LanguageClient, name: str, argument: Any = None, token: str | None = None
) -> Any:
    """Execute a command with one JSON argument."""
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=[argument or {}], work_done_token=token)
    )


def read(uri: str) -> str:
    """The text of the file at `uri` (a small local file: reading it does not stall the test)."""
    return Path(to_fs_path(uri) or "").read_text(encoding="utf-8")


def posted(fake: FakeBackend, path: str) -> list[Any]:
    """The JSON bodies POSTed to `path`, oldest first."""
    return [
        json.loads(body) if body else None
        for method, at, body in fake.state.requests
        if method == "POST" and at == path
    ]


async def test_chat_streams_progress_and_opens_the_conversation(
    client: LanguageClient, fake: FakeBackend
) -> None:
    client.progress_reports["chat-1"] = []  # the client made this token
    answer = await command(client, "devmatrix.chat", {"text": "what is an atom?"}, token="chat-1")
    assert answer["kind"] == "answer"
    assert answer["conversationId"] == 3
    assert "An atom is one symbol." in read(answer["uri"])
    kinds = [r.kind for r in client.progress_reports["chat-1"]]
    assert kinds[0] == "begin"
    assert kinds[-1] == "end"
    assert any(
        getattr(r, "message", "") == "An atom is one symbol."
        for r in client.progress_reports["chat-1"]
    )
    if client.editor == "visual-studio-code":  # it can show documents; Emacs 29 says it cannot
        await asyncio.sleep(0.2)
        assert [d.uri for d in client.shown_documents] == [answer["uri"]]
    else:
        assert client.shown_documents == []
    build = await command(client, "devmatrix.chat", {"text": "build a calc", "conversationId": 3})
    assert build["kind"] == "plan"
    assert build["planId"] == 1
    assert posted(fake, "/api/v1/conversations/3/messages")[-1] == {"content": "build a calc"}


async def test_plan_from_a_file_then_run_controls(
    client: LanguageClient, fake: FakeBackend
) -> None:
    spec = client.root / "spec.md"
    spec.write_text("# calc\n\nadd and sub\n", encoding="utf-8")
    plan = await command(client, "devmatrix.plan.fromFile", {"uri": from_fs_path(str(spec))})
    assert plan["planId"] == 1
    assert posted(fake, "/api/v1/plans") == [{"spec": "# calc\n\nadd and sub\n"}]
    assert "# calc (plan 1)" in read(plan["uri"])
    assert (await command(client, "devmatrix.plan.approve"))["status"] == "approved"
    assert (await command(client, "devmatrix.run.start"))["status"] == "running"
    assert (await command(client, "devmatrix.run.pause"))["status"] == "paused"
    assert (await command(client, "devmatrix.run.resume"))["status"] == "running"
    assert (await command(client, "devmatrix.run.cancel", {"planId": 1}))["status"] == "cancelled"
    status = await command(client, "devmatrix.status")
    assert status["run"]["status"] == "cancelled"
    assert status["planId"] == 1


async def test_review_commands_and_regenerate(client: LanguageClient, fake: FakeBackend) -> None:
    for item_id, atom_id in ((5, 1), (6, 1), (7, 1), (8, 1)):
        fake.state.reviews[item_id] = {
            "id": item_id, "plan_id": 1, "atom_id": atom_id, "status": "open",
            "reason": "unsure", "confidence": 0.5, "proposed_code": NEW_ADD,
        }  # fmt: skip
    await command(client, "devmatrix.plan.show", {"planId": 1})
    rejected = await command(client, "devmatrix.review.reject", {"itemId": 5, "reason": "use b"})
    assert rejected["status"] == "rejected"
    edited = await command(client, "devmatrix.review.edit", {"itemId": 6, "code": NEW_ADD})
    assert edited["status"] == "edited"
    assert posted(fake, "/api/v1/review/6/edit") == [{"code": NEW_ADD}]
    approved = await command(client, "devmatrix.review.approve", {"itemId": 7})
    assert approved["status"] == "approved"
    regenerated = await command(
        client, "devmatrix.atom.regenerate", {"atomId": 1, "reason": "again"}
    )
    assert regenerated["id"] == 8
    assert posted(fake, "/api/v1/review/8/reject") == [{"reason": "again"}]
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "devmatrix.atom.regenerate", {"atomId": 2})
    assert caught.value.code == -32803
    assert "waits for no review" in caught.value.message


async def test_apply_atom_into_a_file_that_does_not_exist(
    client: LanguageClient, fake: FakeBackend
) -> None:
    code = "from calc.ops import add\n\n\ndef double(a):\n    return add(a, a)\n"
    fake.state.atoms[3] = {**atom(3, "double", "validated", code, (1, 5)), "file": "calc/more.py"}
    await command(client, "devmatrix.plan.show", {"planId": 1})
    assert await command(client, "devmatrix.atom.apply", {"atomId": 3}) == {"applied": True}
    assert (client.root / "calc" / "more.py").read_text(encoding="utf-8") == code


async def test_apply_all_validated_atoms_of_a_file(
    client: LanguageClient, fake: FakeBackend
) -> None:
    fake.state.atoms[1]["code"] = NEW_ADD
    await command(client, "devmatrix.plan.show", {"planId": 1})
    uri = from_fs_path(str(client.root / "calc" / "ops.py"))
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
            ),
            context=types.CodeActionContext(diagnostics=[], only=["source.devmatrix.applyAll"]),
        )
    )
    assert [a.title for a in actions or []] == ["DevMatrix: apply all validated atoms of this file"]
    action = actions[0]
    assert isinstance(action, types.CodeAction)
    if action.edit is None:  # VS Code resolves edits lazily
        action = await client.code_action_resolve_async(action)
    assert action.edit is not None
    apply_edit(action.edit)
    assert (client.root / "calc" / "ops.py").read_text(encoding="utf-8") == OPS.replace(
        "return a + b", "return b + a"
    )


async def test_new_settings_switch_the_backend(client: LanguageClient, fake: FakeBackend) -> None:
    other = FakeBackend()
    other.start()
    try:
        assert (await command(client, "devmatrix.status"))["backend"] == fake.url
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={"devmatrix": {"backendUrl": other.url, "token": TOKEN}}
            )
        )
        for _ in range(100):
            status = await command(client, "devmatrix.status")
            if status["backend"] == other.url:
                break
            await asyncio.sleep(0.05)
        assert status == {"backend": other.url, "state": "connected"}
    finally:
        other.stop()


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[
            sys.executable,
            "-c",
            # The engine is importable here; hide it as an install without it would.
            "import runpy, sys; sys.modules['devmatrix'] = None; "
            "runpy.run_module('devmatrix_lsp', run_name='__main__')",
        ]
    )
)
async def without_engine(
    lsp_client: LanguageClient, tmp_path: Path
) -> AsyncIterator[LanguageClient]:
    """A client whose language server has no engine and no backend URL."""
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim"),
            root_uri=from_fs_path(str(tmp_path)),
            initialization_options={"dataDir": str(tmp_path / "data")},
        )
    )
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_without_the_engine_it_says_how_to_install_it(without_engine: LanguageClient) -> None:
    if not without_engine.messages:
        await without_engine.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    message = without_engine.messages[0]
    assert message.type == types.MessageType.Error
    assert "pip install 'devmatrix[all]'" in message.message
    assert "backendUrl" in message.message
    status = await command(without_engine, "devmatrix.status")
    assert status["state"] == "unreachable"


async def test_view_commands_and_live_events(client: LanguageClient, fake: FakeBackend) -> None:
    events: list[Any] = []

    @client.feature("devmatrix/event")
    def on_event(params: Any) -> None:
        events.append(params)

    fake.state.plan["plan"] = {
        "phases": [
            {
                "name": "Core",
                "milestones": [
                    {
                        "name": "Arithmetic",
                        "tasks": [
                            {
                                "code": "T1",
                                "title": "ops",
                                "atoms": [{"key": "calc/ops.py::add", "intent": "sum"}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    fake.state.reviews[5] = {
        "id": 5, "plan_id": 1, "atom_id": 2, "status": "open", "reason": "unsure",
        "confidence": 0.5, "proposed_code": NEW_ADD,
    }  # fmt: skip
    with pytest.raises(JsonRpcException, match="no active plan"):
        await command(client, "devmatrix.plan.tree")
    await command(client, "devmatrix.plan.show", {"planId": 1})
    tree = await command(client, "devmatrix.plan.tree")
    task = tree["phases"][0]["milestones"][0]["tasks"][0]
    assert task["atoms"] == [
        {
            "key": "calc/ops.py::add", "intent": "sum", "id": 1, "status": "validated",
            "confidence": None, "last_error": None, "start_line": 1, "end_line": 2,
        }
    ]  # fmt: skip
    assert tree["run"] == {"plan_id": 1, "status": "idle"}
    items = (await command(client, "devmatrix.review.list"))["items"]
    assert [(i["id"], i["atom"]["qualified_name"]) for i in items] == [(5, "sub")]
    fake.state.run = {"plan_id": 1, "status": "running", "cost_usd": 0.5, "summary": {"total": 2}}
    assert (await command(client, "devmatrix.status"))["run"] == fake.state.run

    fake.publish("atom_started", {"atom": "calc/ops.py::sub"})
    fake.publish("atom_started", {"atom": "x.py::y"}, plan_id=2)  # not the active plan
    fake.publish("atom_validated", {"atom": "calc/ops.py::sub", "attempts": 1})
    for _ in range(200):
        if len(events) >= 2:
            break
        await asyncio.sleep(0.01)
    # The test client reads an unknown notification's params as a named tuple.
    assert [(e.type, e.plan_id) for e in events] == [
        ("atom_started", 1),
        ("atom_validated", 1),
    ]


async def test_a_configuration_without_settings_keeps_the_backend(
    client: LanguageClient, fake: FakeBackend
) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    await asyncio.sleep(0.3)
    assert await command(client, "devmatrix.status") == {"backend": fake.url, "state": "connected"}


async def test_apply_into_an_open_buffer_never_saved(
    client: LanguageClient, fake: FakeBackend
) -> None:
    code = "def double(a):\n    return a + a\n"
    fake.state.atoms[3] = {
        **atom(3, "double", "validated", code, (1, 2)),
        "file": "calc/new/more.py",
    }
    await command(client, "devmatrix.plan.show", {"planId": 1})
    uri = from_fs_path(str(client.root / "calc" / "new" / "more.py"))
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text="")
        )
    )
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
            ),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    apply = next(a for a in actions or [] if a.title == "DevMatrix: apply atom double")
    assert isinstance(apply, types.CodeAction)
    assert apply.edit is not None
    changes = apply.edit.document_changes or []
    if client.editor == "visual-studio-code":  # it creates files: the folder comes with it
        assert isinstance(changes[0], types.CreateFile)
        apply_edit(apply.edit)
        assert (client.root / "calc" / "new" / "more.py").read_text(encoding="utf-8") == code
    else:
        assert not any(isinstance(c, types.CreateFile) for c in changes)
