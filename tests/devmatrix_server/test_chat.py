"""Chat turns: the model classifies each message; questions are answered, build requests planned."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select

from devmatrix.storage.models import MasterPlan, UsageRecord
from tests.devmatrix_server.conftest import Api, ApiFactory

CALC = Path(__file__).resolve().parents[1] / "fixtures" / "execution" / "calc_answers.json"


def chat_answers(tmp_path: Path) -> Path:
    """The calc answers plus a question turn and a build turn for the intent classifier."""
    answers = json.loads(CALC.read_text(encoding="utf-8"))["answers"]
    extra = [
        {"purpose": "intent", "contains": "What", "answer": {"intent": "question"}},
        {"purpose": "intent", "contains": "calc", "answer": {"intent": "build"}},
        {"purpose": "chat", "answer": "Atoms are single top-level symbols of about ten lines."},
    ]
    path = tmp_path / "chat_answers.json"
    path.write_text(json.dumps({"answers": extra + answers}), encoding="utf-8")
    return path


def chat_api(make_api: ApiFactory, tmp_path: Path) -> Api:
    """An API with the chat answers and one registered user `ada`."""
    api = make_api(llm_provider="scripted", scripted_answers=chat_answers(tmp_path))
    api.register("ada")
    return api


def test_question_is_answered_and_build_request_becomes_a_plan(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    api = chat_api(make_api, tmp_path)
    headers = api.headers("ada")
    conversation = api.client.post("/api/v1/conversations", json={"title": "calc"}, headers=headers)
    cid = conversation.json()["id"]

    asked = api.client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"content": "What is an atom?"},
        headers=headers,
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["intent"] == "question"
    assert asked.json()["plan_id"] is None
    assert "ten lines" in asked.json()["reply"]["content"]

    built = api.client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"content": "Build a tiny calc library with add and mul, tested."},
        headers=headers,
    )
    assert built.status_code == 201, built.text
    plan_id = built.json()["plan_id"]
    assert built.json()["intent"] == "build"
    with api.session() as session:
        plan = session.get(MasterPlan, plan_id)
        assert plan is not None
        assert plan.status == "draft"
        purposes = {u.purpose for u in session.exec(select(UsageRecord)).all()}
    assert {"intent", "chat", "discovery", "masterplan"} <= purposes

    messages = api.client.get(f"/api/v1/conversations/{cid}/messages", headers=headers).json()
    assert [m["role"] for m in messages["items"]] == ["user", "assistant", "user", "assistant"]
    markdown = api.client.get(f"/api/v1/conversations/{cid}/export", headers=headers)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# calc")
    assert "What is an atom?" in markdown.text
    assert f"_Plan {plan_id}_" in markdown.text
    api.app.state.run_registry.close()


def test_viewer_and_reader_cannot_send(make_sqlite_api: ApiFactory, tmp_path: Path) -> None:
    api = chat_api(make_sqlite_api, tmp_path)
    headers = api.headers("ada")
    api.register("vic", invite_token=api.invite(headers, role="viewer"))
    api.register("bob", invite_token=api.invite(headers, role="user"))
    cid = api.client.post("/api/v1/conversations", json={}, headers=headers).json()["id"]
    for user in ("vic", "bob"):
        uid = api.client.get("/api/v1/users/me", headers=api.headers(user)).json()["id"]
        shared = api.client.post(
            f"/api/v1/conversations/{cid}/shares", json={"user_id": uid}, headers=headers
        )
        assert shared.status_code == 201, shared.text
    body = {"content": "What is an atom?"}
    viewer = api.client.post(
        f"/api/v1/conversations/{cid}/messages", json=body, headers=api.headers("vic")
    )
    assert viewer.status_code == 403
    reader = api.client.post(
        f"/api/v1/conversations/{cid}/messages", json=body, headers=api.headers("bob")
    )
    assert reader.status_code == 404  # shared read-only: no writing
    with api.session() as session:
        assert session.exec(select(UsageRecord)).all() == []
