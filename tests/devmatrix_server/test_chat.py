"""Chat turns: the model classifies each message; questions are answered, build requests planned."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlmodel import select

from devmatrix.storage.models import MasterPlan, Message, UsageRecord
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


STREAM = {"accept": "text/event-stream"}


def sse_events(body: str) -> list[tuple[str, Any]]:
    """(event name, parsed data) of each Server-Sent Event in `body`; comments are skipped."""
    events = []
    for block in body.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def conversation(api: Api, user: str = "ada") -> int:
    created = api.client.post("/api/v1/conversations", json={}, headers=api.headers(user))
    return int(created.json()["id"])


def send_streamed(api: Api, cid: int, content: str, user: str = "ada") -> Any:
    """POST a message asking for the turn as Server-Sent Events (the test client's response)."""
    return api.client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"content": content},
        headers={**api.headers(user), **STREAM},
    )


def saved_contents(api: Api, cid: int) -> list[str]:
    with api.session() as session:
        rows = session.exec(select(Message).where(Message.conversation_id == cid)).all()
        return [m.content for m in rows]


def test_streamed_answer_arrives_in_pieces_and_is_saved(
    make_sqlite_api: ApiFactory, tmp_path: Path
) -> None:
    api = chat_api(make_sqlite_api, tmp_path)
    cid = conversation(api)

    answer = send_streamed(api, cid, "What is an atom?")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["cache-control"] == "no-cache"
    events = sse_events(answer.text)
    names = [name for name, _ in events]
    assert names[0] == "intent"
    assert events[0][1] == {"intent": "question"}
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    assert len(names) - 2 > 1
    done = events[-1][1]
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    assert streamed == done["reply"]["content"]
    assert "ten lines" in streamed
    assert done["intent"] == "question"
    assert done["plan_id"] is None
    assert saved_contents(api, cid) == ["What is an atom?", streamed]
    api.app.state.run_registry.close()


def test_streamed_build_request_ends_with_its_plan(
    make_sqlite_api: ApiFactory, tmp_path: Path
) -> None:
    api = chat_api(make_sqlite_api, tmp_path)
    cid = conversation(api)

    answer = send_streamed(api, cid, "Build a tiny calc library with add and mul, tested.")

    events = sse_events(answer.text)
    assert [name for name, _ in events] == ["intent", "done"]
    assert events[0][1] == {"intent": "build"}
    plan_id = events[1][1]["plan_id"]
    with api.session() as session:
        assert session.get(MasterPlan, plan_id) is not None
    api.app.state.run_registry.close()


def test_a_model_failure_mid_stream_is_a_problem_event_and_nothing_is_saved(
    make_sqlite_api: ApiFactory, tmp_path: Path
) -> None:
    only_intent = tmp_path / "intent_only.json"
    only_intent.write_text(
        json.dumps({"answers": [{"purpose": "intent", "answer": {"intent": "question"}}]}),
        encoding="utf-8",
    )
    api = make_sqlite_api(llm_provider="scripted", scripted_answers=only_intent)
    api.register("ada")
    cid = conversation(api)

    answer = send_streamed(api, cid, "What is an atom?")

    assert answer.status_code == 200
    events = sse_events(answer.text)
    assert [name for name, _ in events] == ["intent", "error"]
    problem = events[1][1]
    assert problem["status"] >= 500
    assert problem["instance"] == f"/api/v1/conversations/{cid}/messages"
    assert "chat" in problem["detail"]  # the scripted model names the purpose it cannot answer
    assert saved_contents(api, cid) == []
    api.app.state.run_registry.close()


def test_refusals_come_before_the_stream_as_plain_problems(
    make_sqlite_api: ApiFactory, tmp_path: Path
) -> None:
    api = chat_api(make_sqlite_api, tmp_path)
    api.register("eve", invite_token=api.invite(api.headers("ada"), role="viewer"))
    cid = conversation(api)

    viewer = send_streamed(api, cid, "What is an atom?", user="eve")
    missing = send_streamed(api, 999999, "What is an atom?")

    assert viewer.status_code == 403
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_pieces_arrive_while_the_model_writes_and_the_turn_is_saved_when_the_client_leaves(
    make_sqlite_api: ApiFactory, tmp_path: Path
) -> None:
    # A long answer: the scripted model hands it out over about a second.
    long_answer = "An atom is one top-level symbol of about ten lines. " * 8
    answers = tmp_path / "long.json"
    answers.write_text(
        json.dumps(
            {
                "answers": [
                    {"purpose": "intent", "answer": {"intent": "question"}},
                    {"purpose": "chat", "answer": long_answer},
                ]
            }
        ),
        encoding="utf-8",
    )
    api = make_sqlite_api(llm_provider="scripted", scripted_answers=answers)
    api.register("ada")
    cid = conversation(api)
    headers = {**api.headers("ada"), **STREAM}
    with running(api.app) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        with client.stream(
            "POST",
            f"/api/v1/conversations/{cid}/messages",
            json={"content": "What is an atom?"},
            headers=headers,
        ) as answer:
            lines = answer.iter_lines()
            assert next(lines) == "event: intent"
            assert next(line for line in lines if line.startswith("event:")) == "event: delta"
            # The first piece is here while the model is still writing: nothing is saved yet.
            assert saved_contents(api, cid) == []
        # The connection is closed before the answer is complete.
        deadline = time.monotonic() + 10
        while len(saved_contents(api, cid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert saved_contents(api, cid) == ["What is an atom?", long_answer]
    api.app.state.run_registry.close()


@contextmanager
def running(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port in a thread: its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
