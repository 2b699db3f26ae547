"""The language server against a backend that goes away and comes back, and against bad input:
events resume from the last one seen (no diagnostic lost), errors are JSON-RPC errors for a
person, and the server keeps running."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.devmatrix_lsp.conftest import OPS
from tests.devmatrix_lsp.fake_backend import TOKEN, FakeBackend

CONFIG = ClientServerConfig(server_command=[sys.executable, "-m", "devmatrix_lsp"])


@pytest_lsp.fixture(config=CONFIG)
async def client(
    lsp_client: LanguageClient, fake: FakeBackend, tmp_path: Path
) -> AsyncIterator[LanguageClient]:
    """A VS Code-like client on the fake backend, with calc/ops.py in its workspace."""
    (tmp_path / "calc").mkdir()
    (tmp_path / "calc" / "ops.py").write_text(OPS, encoding="utf-8")
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=from_fs_path(str(tmp_path)),
            initialization_options={"backendUrl": fake.url, "token": TOKEN},
        )
    )
    lsp_client.ops_uri = from_fs_path(str(tmp_path / "calc" / "ops.py"))
    yield lsp_client
    await lsp_client.shutdown_session()


async def command(client: LanguageClient, name: str, argument: Any = None) -> Any:
    """Execute a command with one argument (none when `argument` is None)."""
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=None if argument is None else [argument])
    )


async def until(check: Callable[[], Any], within: float = 20.0) -> Any:
    """Poll `check` until it returns something true."""
    deadline = time.monotonic() + within
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
    return found


def codes(client: LanguageClient) -> set[Any]:
    """The codes of the diagnostics currently shown for calc/ops.py."""
    return {d.code for d in client.diagnostics.get(client.ops_uri, [])}


async def test_events_resume_after_the_backend_comes_back(
    client: LanguageClient, fake: FakeBackend
) -> None:
    shown = await command(client, "devmatrix.plan.show", {"planId": 1})
    assert shown["planId"] == 1
    await until(lambda: fake.state.subscriptions)
    assert codes(client) == set()

    fake.state.results.append(
        {
            "id": 1,
            "plan_id": 1,
            "atom_id": 2,
            "task_id": 1,
            "run_id": 1,
            "level": 2,
            "code": "L2-test-failed",
            "passed": False,
            "message": "test_sub: assert sub(3, 1) == 2",
            "file": "tests/test_ops.py",
            "line": 7,
        }
    )
    fake.state.atoms[2].update(status="failed", last_error="test_sub failed")
    sent = time.perf_counter()
    fake.publish("atom_failed", {"atom": "calc/ops.py::sub", "error": "test_sub failed"})
    await until(lambda: "L1-failed" in codes(client) or "L2-test-failed" in codes(client))
    first_seen = time.perf_counter() - sent
    await until(lambda: "L2-test-failed" in codes(client))
    failure = next(d for d in client.diagnostics[client.ops_uri] if d.code == "L2-test-failed")
    assert failure.severity == types.DiagnosticSeverity.Error
    assert failure.range.start.line == 4  # the sub symbol in the workspace file
    assert "test_sub" in failure.message
    related = failure.related_information or []
    assert related
    assert related[0].location.uri.endswith("tests/test_ops.py")
    assert related[0].location.range.start.line == 6
    assert first_seen < 1.0, f"the diagnostic took {first_seen * 1000:.0f} ms"

    fake.stop()
    status = await command(client, "devmatrix.status")
    assert status["state"] == "unreachable"
    assert "unreachable" in status["message"]
    # Published while the language server cannot see it: must not be lost.
    fake.state.reviews[5] = {
        "id": 5,
        "plan_id": 1,
        "atom_id": 1,
        "status": "open",
        "reason": "unsure",
        "confidence": 0.42,
        "proposed_code": "def add(a, b):\n    return b + a\n",
    }
    fake.state.atoms[1]["status"] = "review"
    fake.publish("review_needed", {"atom": "calc/ops.py::add", "review_id": 5, "confidence": 0.42})
    fake.start()
    await until(lambda: "review-needed" in codes(client))
    assert fake.state.subscriptions[-1] == 1, fake.state.subscriptions  # resumed after event 1
    warning = next(d for d in client.diagnostics[client.ops_uri] if d.code == "review-needed")
    assert "0.42" in warning.message
    assert (await command(client, "devmatrix.status"))["state"] == "connected"


async def test_cancelling_the_run_progress_cancels_the_run(
    client: LanguageClient, fake: FakeBackend
) -> None:
    started = await command(client, "devmatrix.run.start", {"planId": 1})
    assert started["status"] == "running"
    token = await until(lambda: next(iter(client.progress_reports), None))
    begin = client.progress_reports[token][0]
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert begin.cancellable
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    await until(lambda: ("POST", "/api/v1/plans/1/execution/cancel", None) in fake.state.requests)


async def test_unknown_command_and_bad_arguments_are_invalid_params(
    client: LanguageClient, fake: FakeBackend
) -> None:
    cases = [
        ("devmatrix.nope", {}, "not defined"),
        ("devmatrix.review.reject", {"itemId": 2}, "`reason` is missing"),
        ("devmatrix.review.approve", {"itemId": "two"}, "positive integer"),
        ("devmatrix.plan.approve", {}, "no active plan"),
        ("devmatrix.atom.apply", "atom 7", "JSON object"),
        ("devmatrix.plan.fromSpec", {"path": "nowhere.md"}, "cannot read"),
        ("devmatrix.review.approve", {"itemId": 99}, "Review item 99 does not exist"),
    ]
    for name, argument, message in cases:
        with pytest.raises(JsonRpcException) as caught:
            await command(client, name, argument)
        assert caught.value.code == -32602, (name, caught.value)
        assert message in caught.value.message, (name, caught.value.message)
    assert (await command(client, "devmatrix.status"))["state"] == "connected"


@pytest_lsp.fixture(config=CONFIG)
async def offline(lsp_client: LanguageClient, tmp_path: Path) -> AsyncIterator[LanguageClient]:
    """A client whose configured backend does not exist."""
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim"),
            root_uri=from_fs_path(str(tmp_path)),
            initialization_options={"backendUrl": "http://127.0.0.1:9", "token": TOKEN},
        )
    )
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_a_command_with_the_backend_down_says_so(offline: LanguageClient) -> None:
    with pytest.raises(JsonRpcException) as caught:
        await command(offline, "devmatrix.plan.approve", {"planId": 1})
    assert caught.value.code == -32803
    assert "unreachable" in caught.value.message
    status = await command(offline, "devmatrix.status")
    assert status["state"] == "unreachable"
