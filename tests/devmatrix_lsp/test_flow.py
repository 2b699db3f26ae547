"""End to end over stdio, as Neovim, VS Code and Emacs would drive it: the language server starts
a private backend with the scripted model; plan -> approve -> run -> diagnostics arrive -> a code
action applies an atom -> its review item is approved -> its diagnostic clears."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Union

import httpx
import pytest
import pytest_lsp
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.devmatrix_lsp.conftest import start_on_scripted_backend
from tests.devmatrix_lsp.workspace_edit import apply_edit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "execution"
CLIENTS = ["neovim", "visual-studio-code", "emacs"]
RUN_TIMEOUT_SECONDS = 180
# With a threshold of 1.0 the calc run sends mul (validated on its second answer) to review.
MUL_CODE = (
    "from calc.ops import add\n\n\n"
    "def mul(a: int, b: int) -> int:\n"
    "    total = 0\n"
    "    for _ in range(b):\n"
    "        total = add(total, a)\n"
    "    return total\n"
)


def failing_answers(folder: Path) -> Path:
    """The calc answers, but mul fails the atom check (an undefined name) on every attempt
    until a reviewer rejects it; the next answer passes. (Retries that send the same prompt
    again get the same answer back, so two bad answers cover all four attempts.)"""
    answers = json.loads((FIXTURES / "calc_answers.json").read_text(encoding="utf-8"))["answers"]
    purpose = "atom:calc/mul.py::mul"
    good = [a for a in answers if a["purpose"] == purpose][-1]
    bad = {
        "purpose": purpose,
        "answer": "```python\ndef mul(a: int, b: int) -> int:\n    return repeat_add(a, b)\n```",
    }
    kept = [a for a in answers if a["purpose"] != purpose]
    path = folder / "failing_answers.json"
    path.write_text(json.dumps({"answers": [*kept, bad, bad, good]}), encoding="utf-8")
    return path


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "devmatrix_lsp"]),
    params=CLIENTS,
)
async def client(
    lsp_client: LanguageClient, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[LanguageClient]:
    """A client with the real editor's capabilities that applies workspace edits to disk."""
    edits: list[types.WorkspaceEdit] = []

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        edits.append(params.edit)
        apply_edit(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    read_code_actions_as_editors_do(lsp_client)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "spec.md").write_text((FIXTURES / "calc_spec.md").read_text(), encoding="utf-8")
    await start_on_scripted_backend(
        lsp_client,
        request.param,
        workspace,
        FIXTURES / "calc_answers.json",
        tmp_path / "data",
        reviewThreshold=1.0,
    )
    lsp_client.editor_name = request.param
    lsp_client.workspace_root = workspace
    lsp_client.applied_edits = edits
    yield lsp_client
    await lsp_client.shutdown_session()
    if getattr(lsp_client, "backend_url", None):  # the private backend stops with the editor
        async with httpx.AsyncClient(timeout=5) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"{lsp_client.backend_url}/api/v1/health/live")


def read_code_actions_as_editors_do(client: LanguageClient) -> None:
    """pygls' converter reads any action with a `command` member as a Command, dropping the
    action's edit; editors tell them apart by the type of `command` (a string in a Command)."""
    converter = client.protocol._converter

    def structure(data: Any, _: Any) -> types.Command | types.CodeAction:
        kind = types.Command if isinstance(data.get("command"), str) else types.CodeAction
        return converter.structure(data, kind)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], structure)  # noqa: UP007


async def run(client: LanguageClient, command: str, argument: dict[str, Any] | None = None) -> Any:
    """Execute a DevMatrix command with one JSON argument."""
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=[argument or {}])
    )


async def diagnostics_until(
    client: LanguageClient, uri: str, done: Any, within: float = RUN_TIMEOUT_SECONDS
) -> list[types.Diagnostic]:
    """Wait for published diagnostics of `uri` that satisfy `done`."""
    deadline = time.monotonic() + within
    while True:
        found = list(client.diagnostics.get(uri, []))
        if done(found):
            return found
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"diagnostics of {uri} never matched; last: {found}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS),
                timeout=min(left, 5),
            )


def review_needed(found: list[types.Diagnostic]) -> bool:
    """Whether a review-needed warning is among `found`."""
    return any(d.code == "review-needed" for d in found)


async def test_plan_run_apply_and_approve(client: LanguageClient) -> None:
    root: Path = client.workspace_root
    status = await run(client, "devmatrix.status")
    assert status["state"] == "connected", status
    assert status["backend"].startswith("http://127.0.0.1:")
    client.backend_url = status["backend"]

    plan = await run(client, "devmatrix.plan.fromSpec", {"path": "spec.md"})
    shown = Path(plan["uri"].removeprefix("file://"))
    assert "# calc" in await asyncio.to_thread(shown.read_text, encoding="utf-8")
    approved = await run(client, "devmatrix.plan.approve")
    assert approved == {"planId": plan["planId"], "status": "approved"}
    started = await run(client, "devmatrix.run.start")
    assert started["plan_id"] == plan["planId"]

    mul_uri = from_fs_path(str(root / "calc" / "mul.py"))
    found = await diagnostics_until(client, mul_uri, review_needed)
    warning = next(d for d in found if d.code == "review-needed")
    assert warning.severity == types.DiagnosticSeverity.Warning
    assert warning.source == "devmatrix"
    assert "confidence 0.8" in warning.message
    assert not client.diagnostics.get(from_fs_path(str(root / "calc" / "ops.py")))

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=mul_uri),
            range=warning.range,
            context=types.CodeActionContext(diagnostics=[warning]),
        )
    )
    titles = [a.title for a in actions or []]
    assert "DevMatrix: apply atom mul" in titles, titles
    assert "DevMatrix: approve review mul" in titles
    assert "DevMatrix: reject review mul" in titles
    assert "DevMatrix: regenerate atom mul" in titles
    await perform(client, _action(actions, "DevMatrix: apply atom mul"))
    assert (root / "calc" / "mul.py").read_text(encoding="utf-8") == MUL_CODE

    # The editor opens the file it created; the warning moves onto the symbol.
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=mul_uri, language_id="python", version=1, text=MUL_CODE
            )
        )
    )
    found = await diagnostics_until(
        client, mul_uri, lambda found: review_needed(found) and found[0].range.start.line == 3
    )
    assert found[0].range.end == types.Position(line=7, character=16)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=mul_uri),
            range=types.Range(
                start=types.Position(line=5, character=4), end=types.Position(line=5, character=4)
            ),
            context=types.CodeActionContext(diagnostics=found),
        )
    )
    await perform(client, _action(actions, "DevMatrix: approve review mul"))
    assert (root / "calc" / "mul.py").read_text(encoding="utf-8") == MUL_CODE
    await diagnostics_until(client, mul_uri, lambda found: not found, within=10)

    status = await run(client, "devmatrix.status")
    assert status["planId"] == plan["planId"]
    tokens = [t for t, reports in client.progress_reports.items() if reports]
    assert tokens, "the run showed no progress"
    ends = [r for t in tokens for r in client.progress_reports[t] if r.kind == "end"]
    assert ends, client.progress_reports


def _action(actions: Any, title: str) -> types.CodeAction:
    return next(a for a in actions if isinstance(a, types.CodeAction) and a.title == title)


async def perform(client: LanguageClient, action: types.CodeAction) -> None:
    """Do what an editor does with a chosen code action: apply its edit, then run its command."""
    if action.edit is not None:
        apply_edit(action.edit)
    if action.command is not None:
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command=action.command.command, arguments=action.command.arguments
            )
        )


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "devmatrix_lsp"])
)
async def failing(lsp_client: LanguageClient, tmp_path: Path) -> AsyncIterator[LanguageClient]:
    """A Neovim client whose private backend plays answers where mul keeps failing."""
    read_code_actions_as_editors_do(lsp_client)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "spec.md").write_text((FIXTURES / "calc_spec.md").read_text(), encoding="utf-8")
    await start_on_scripted_backend(
        lsp_client, "neovim", workspace, failing_answers(tmp_path), tmp_path / "data"
    )
    lsp_client.workspace_root = workspace
    yield lsp_client
    await lsp_client.shutdown_session()


async def run_ended(client: LanguageClient) -> dict[str, Any]:
    """Wait until the status reports the active plan's run ended (from the run_finished event)."""
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        status = await run(client, "devmatrix.status")
        if status.get("run", {}).get("status") not in (None, "starting", "running", "paused"):
            return dict(status["run"])
        await asyncio.sleep(0.2)
    raise AssertionError("the run did not end")


def errors(found: list[types.Diagnostic]) -> list[types.Diagnostic]:
    """The error-level diagnostics among `found`."""
    return [d for d in found if d.severity == types.DiagnosticSeverity.Error]


async def test_a_failing_atom_shows_its_check_and_clears_once_regenerated(
    failing: LanguageClient,
) -> None:
    await run(failing, "devmatrix.plan.fromSpec", {"path": "spec.md"})
    await run(failing, "devmatrix.plan.approve")
    await run(failing, "devmatrix.run.start")
    mul_uri = from_fs_path(str(failing.workspace_root / "calc" / "mul.py"))
    found = await diagnostics_until(
        failing, mul_uri, lambda found: any(d.code == "L1-undefined-name" for d in found)
    )
    error = next(d for d in found if d.code == "L1-undefined-name")
    assert error.severity == types.DiagnosticSeverity.Error
    assert error.source == "devmatrix"
    assert "repeat_add" in error.message
    assert error.message.startswith("mul failed the atom check")
    await run_ended(failing)

    actions = await failing.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=mul_uri),
            range=error.range,
            context=types.CodeActionContext(diagnostics=[error]),
        )
    )
    await perform(failing, _action(actions, "DevMatrix: regenerate atom mul"))
    # The rejection earns mul one more attempt, which passes: the error goes away by itself.
    await diagnostics_until(failing, mul_uri, lambda found: not errors(found))


def backend_pids(data_dir: Path) -> list[int]:
    """Processes of a private backend whose data folder is `data_dir` (read from /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"serve" in command and f"DEVMATRIX_DATA_DIR={data_dir}".encode() in environ:
            found.append(int(proc.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
async def test_a_private_backend_that_dies_is_started_again(failing: LanguageClient) -> None:
    data_dir = failing.workspace_root.parent / "data"
    first = await run(failing, "devmatrix.status")
    assert first["state"] == "connected"
    pids = await asyncio.to_thread(backend_pids, data_dir)
    assert len(pids) == 1, pids
    os.kill(pids[0], signal.SIGKILL)
    await asyncio.sleep(0.2)
    status = await run(failing, "devmatrix.status")
    if status["state"] != "connected":  # the first call may meet the dead one
        status = await run(failing, "devmatrix.status")
    assert status["state"] == "connected", status
    assert status["backend"] != first["backend"]
    assert await asyncio.to_thread(backend_pids, data_dir) != pids
