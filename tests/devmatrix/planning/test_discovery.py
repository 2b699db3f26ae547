"""Discovery: bad specs are refused before any model call; requirement numbering is checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from devmatrix.planning.discovery import check_spec, discover, load_discovery, read_spec
from devmatrix.planning.errors import InvalidSpec
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import DiscoveryDocument


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "The spec is empty."),
        ("   \n\t  \n", "The spec is empty."),
        ("todo app", "too short"),
        ("1234 5678 !!!! ???? 9999 0000", "no words"),
        (
            "todo list application: 1234567890 0987654321 !!!!!!!!!!!! ############ 55555555",
            "mostly symbols",
        ),
        ("A todo app \x00\x01\x02\x03 with users", "binary or control characters"),
    ],
)
async def test_a_bad_spec_is_refused_before_any_model_call(
    engine: Engine, client_for: Any, spec: str, message: str
) -> None:
    client, recorder = client_for([])
    with pytest.raises(InvalidSpec) as caught:
        await discover(client, engine, spec)
    assert message in str(caught.value)
    assert "Describe what to build" in str(caught.value)
    assert recorder.requests == []
    with session_scope(engine) as session:
        assert session.exec(select(DiscoveryDocument)).all() == []


def test_a_binary_spec_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spec.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(InvalidSpec, match="is binary"):
        read_spec(path)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Une application de t\xe2ches pour une \xe9quipe".encode("latin-1"))
    with pytest.raises(InvalidSpec, match="not UTF-8"):
        read_spec(latin)
    with pytest.raises(InvalidSpec, match="does not exist"):
        read_spec(tmp_path / "missing.md")


async def test_misnumbered_requirements_are_fed_back_and_the_fix_is_saved(
    engine: Engine, client_for: Any, todo_answers: list[dict[str, Any]], todo_spec: str
) -> None:
    good = next(a["answer"] for a in todo_answers if a["purpose"] == "discovery")
    skipped = {**good, "requirements": [good["requirements"][0], good["requirements"][2]]}
    client, recorder = client_for(
        [
            {"purpose": "discovery", "answer": skipped},
            {"purpose": "discovery", "contains": "must be numbered REQ-1, REQ-2", "answer": good},
        ]
    )
    document_id, _ = await discover(client, engine, todo_spec)
    assert "got REQ-1, REQ-3" in recorder.requests[1].messages[-1].content
    with session_scope(engine) as session:
        loaded = load_discovery(session, document_id)
        document = session.get(DiscoveryDocument, document_id)
    assert [r.code for r in loaded.requirements] == ["REQ-1", "REQ-2", "REQ-3"]
    assert loaded.constraints == ["Python 3.11", "standard library only"]
    assert document is not None
    assert document.spec.startswith("# Todo library")


def test_real_specs_pass_the_check_in_any_script() -> None:
    assert check_spec("  A REST API for a todo list with users and due dates.\n") == (
        "A REST API for a todo list with users and due dates."
    )
    chinese = "一个待办事项列表的接口支持用户登录和截止日期提醒。"
    assert check_spec(chinese) == chinese
    german = "Eine Aufgabenliste mit Fälligkeitsdatum für Teams"
    assert check_spec(german) == german
