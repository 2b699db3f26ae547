"""Shared pieces of the language-server tests: a fake backend on loopback and a client on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import LanguageClient, client_capabilities

from tests.devmatrix_lsp.fake_backend import FakeBackend

OPS = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


def atom(
    atom_id: int, name: str, status: str, code: str | None, lines: tuple[int, int]
) -> dict[str, Any]:
    """An atom as the API shows it, in calc/ops.py."""
    return {
        "id": atom_id,
        "key": f"calc/ops.py::{name}",
        "file": "calc/ops.py",
        "qualified_name": name,
        "kind": "function",
        "signature": f"def {name}(a, b):",
        "intent": "",
        "uses": [],
        "requirement_codes": ["REQ-1"],
        "status": status,
        "code": code,
        "start_line": lines[0],
        "end_line": lines[1],
        "confidence": None,
        "attempts": 1,
        "last_error": None,
    }


async def start_on_scripted_backend(
    client: LanguageClient,
    editor: str,
    workspace: Path,
    answers: Path,
    data_dir: Path,
    **settings: Any,
) -> None:
    """Initialize `client` as `editor` on `workspace`; the server starts its private backend in
    `data_dir`, with the scripted model playing `answers` (and any other `settings`)."""
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(editor),
            root_uri=from_fs_path(str(workspace)),
            initialization_options={
                "provider": "scripted",
                "scriptedAnswers": str(answers),
                **settings,
                "dataDir": str(data_dir),
            },
        )
    )


@pytest.fixture
def fake() -> Iterator[FakeBackend]:
    """A fake backend with plan 1 of two atoms (add validated, sub pending) in calc/ops.py."""
    fake = FakeBackend()
    fake.state.plan = {
        "id": 1,
        "title": "calc",
        "status": "draft",
        "version": 1,
        "approved_version": None,
        "discovery": None,
        "plan": {"phases": []},
        "counts": {"atoms": 2},
    }
    fake.state.atoms = {
        1: atom(1, "add", "validated", "def add(a, b):\n    return a + b\n", (1, 2)),
        2: atom(2, "sub", "pending", None, (5, 6)),
    }
    fake.start()
    yield fake
    fake.stop()
