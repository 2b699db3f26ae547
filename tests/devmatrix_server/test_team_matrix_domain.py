"""Team matrix for the domain routes: every id-taking route of plans, runs, review, conversations
and quotas answers 404 across teams, viewers only read, and refused calls change nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from devmatrix.storage.models import (
    Atom,
    Conversation,
    ConversationShare,
    MasterPlan,
    Message,
    Quota,
    ReviewItem,
    UsageRecord,
)
from tests.devmatrix_server.conftest import Api, _factory, _sqlite_url

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "execution"

# (method, path template, body): every id-taking route of the domain routers.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/conversations/{conversation_id}", None),
    ("GET", "/api/v1/conversations/{conversation_id}/messages", None),
    ("GET", "/api/v1/conversations/{conversation_id}/export", None),
    ("POST", "/api/v1/conversations/{conversation_id}/messages", {"content": "What?"}),
    ("POST", "/api/v1/conversations/{conversation_id}/shares", {"user_id": "{bob}"}),
    ("DELETE", "/api/v1/conversations/{conversation_id}", None),
    ("GET", "/api/v1/plans/{plan_id}", None),
    ("GET", "/api/v1/plans/{plan_id}/tasks", None),
    ("GET", "/api/v1/plans/{plan_id}/versions", None),
    ("GET", "/api/v1/plans/{plan_id}/versions/{version}", None),
    ("GET", "/api/v1/plans/{plan_id}/history", None),
    ("PATCH", "/api/v1/plans/{plan_id}/tasks/{code}", {"title": "changed"}),
    ("DELETE", "/api/v1/plans/{plan_id}/tasks/{code}", None),
    (
        "POST",
        "/api/v1/plans/{plan_id}/tasks",
        {"title": "more", "target_files": ["calc/more.py"], "after": "T1"},
    ),
    ("PUT", "/api/v1/plans/{plan_id}/tasks/order", {"order": ["T1"]}),
    ("POST", "/api/v1/plans/{plan_id}/approve", None),
    ("GET", "/api/v1/plans/{plan_id}/atoms", None),
    ("GET", "/api/v1/atoms/{atom_id}", None),
    ("GET", "/api/v1/plans/{plan_id}/graph", None),
    ("GET", "/api/v1/plans/{plan_id}/validation", None),
    ("GET", "/api/v1/atoms/{atom_id}/validation", None),
    ("GET", "/api/v1/plans/{plan_id}/execution", None),
    ("POST", "/api/v1/plans/{plan_id}/execution/start", None),
    ("POST", "/api/v1/plans/{plan_id}/execution/pause", None),
    ("POST", "/api/v1/plans/{plan_id}/execution/resume", None),
    ("POST", "/api/v1/plans/{plan_id}/execution/cancel", None),
    ("GET", "/api/v1/review/{item_id}", None),
    ("POST", "/api/v1/review/{item_id}/approve", None),
    ("POST", "/api/v1/review/{item_id}/reject", {"reason": "no"}),
    ("POST", "/api/v1/review/{item_id}/edit", {"code": "x = 1\n"}),
    ("GET", "/api/v1/plans/{plan_id}/acceptance/tests", None),
    ("POST", "/api/v1/plans/{plan_id}/acceptance/execute", None),
    ("GET", "/api/v1/plans/{plan_id}/acceptance/gate", None),
    ("GET", "/api/v1/plans/{plan_id}/trace/requirements/{requirement}", None),
    ("GET", "/api/v1/plans/{plan_id}/trace/location?file=calc/ops.py&line=2", None),
    ("GET", "/api/v1/usage/users/{user_id}", None),
    ("GET", "/api/v1/quotas/users/{user_id}", None),
    ("PUT", "/api/v1/quotas/users/{user_id}", {"max_tokens": 5}),
]
READS = [r for r in ROUTES if r[0] == "GET"]
WRITES = [r for r in ROUTES if r[0] != "GET"]
ADMIN_ONLY = ("/usage/users/", "/quotas/users/")


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> Iterator[tuple[Api, dict[str, Any], dict[str, dict[str, str]]]]:
    """Team A (alice admin, bob user, vic viewer) with a finished calc run; team B (carol admin)."""
    folder = tmp_path_factory.mktemp("domain-matrix")
    apps: list[Any] = []
    api = _factory(
        _sqlite_url(migrated_sqlite, folder),
        apps,
        data_dir=folder / "data",
        llm_provider="scripted",
        scripted_answers=FIXTURES / "calc_answers.json",
        review_confidence_threshold=1.0,
    )()
    ids: dict[str, Any] = {"alice": api.register("alice")["id"]}
    alice = api.headers("alice")
    ids["bob"] = api.register("bob", invite_token=api.invite(alice, "user"))["id"]
    ids["vic"] = api.register("vic", invite_token=api.invite(alice, "viewer"))["id"]
    ids["carol"] = api.register("carol", team_name="team-b")["id"]
    headers = {name: api.headers(name) for name in ("alice", "bob", "vic", "carol")}
    spec = (FIXTURES / "calc_spec.md").read_text(encoding="utf-8")
    plan_id = api.client.post("/api/v1/plans", json={"spec": spec}, headers=alice).json()["id"]
    api.client.post(f"/api/v1/plans/{plan_id}/approve", headers=alice)
    api.client.post(f"/api/v1/plans/{plan_id}/execution/start", headers=alice)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = api.client.get(f"/api/v1/plans/{plan_id}/execution", headers=alice).json()
        if state["status"] not in ("starting", "running"):
            break
        time.sleep(0.2)
    assert state["status"] == "finished", state
    conversation = api.client.post("/api/v1/conversations", json={}, headers=alice).json()
    with api.session() as session:
        atom = session.exec(select(Atom).where(Atom.plan_id == plan_id)).first()
        item = session.exec(select(ReviewItem).where(ReviewItem.status == "open")).first()
        assert atom is not None
        assert item is not None
    ids.update(
        plan_id=plan_id,
        atom_id=atom.id,
        item_id=item.id,
        conversation_id=conversation["id"],
        version=1,
        code="T1",
        requirement="REQ-1",
        user_id=ids["bob"],
    )
    yield api, ids, headers
    api.app.state.run_registry.close()
    for app in apps:
        app.state.engine.dispose()


def call(api: Api, headers: dict[str, str], route: tuple[str, str, Any], ids: dict[str, Any]):
    method, template, body = route
    path = template.format(**ids)
    if isinstance(body, dict):
        body = {k: ids["bob"] if v == "{bob}" else v for k, v in body.items()}
    return api.client.request(method, path, headers=headers, json=body)


def snapshot(api: Api) -> tuple[Any, ...]:
    with api.session() as session:
        plans = [
            (p.id, p.version, p.status, p.approved_version)
            for p in session.exec(select(MasterPlan))
        ]
        items = [(i.id, i.status) for i in session.exec(select(ReviewItem))]
        counts = [
            session.exec(select(func.count()).select_from(model)).one()
            for model in (Conversation, ConversationShare, Message, Quota, UsageRecord)
        ]
    return tuple(plans), tuple(items), tuple(counts)


def test_matrix_covers_every_id_route(world: tuple[Api, dict[str, Any], Any]) -> None:
    api = world[0]
    covered = {(m, t.split("?")[0]) for m, t, _ in ROUTES}
    mine = ("/conversations", "/plans", "/atoms", "/review", "/usage", "/quotas")
    routes = {
        (method.upper(), path)
        for path, operations in api.app.openapi()["paths"].items()
        if "{" in path and path.startswith(tuple(f"/api/v1{p}" for p in mine))
        for method in operations
    }
    assert routes == covered


def test_other_team_gets_not_found_and_changes_nothing(
    world: tuple[Api, dict[str, Any], Any],
) -> None:
    api, ids, headers = world
    before = snapshot(api)
    for route in ROUTES:
        answer = call(api, headers["carol"], route, ids)
        assert answer.status_code == 404, (route, answer.status_code, answer.text)
    assert snapshot(api) == before


def test_viewer_reads_but_never_writes(world: tuple[Api, dict[str, Any], Any]) -> None:
    api, ids, headers = world
    before = snapshot(api)
    for route in WRITES:
        answer = call(api, headers["vic"], route, ids)
        assert answer.status_code == 403, (route, answer.status_code, answer.text)
    for route in READS:
        answer = call(api, headers["vic"], route, ids)
        expected = 403 if any(p in route[1] for p in ADMIN_ONLY) else 200
        if "/conversations/" in route[1]:
            expected = 404  # alice's conversation is not shared with vic
        assert answer.status_code == expected, (route, answer.status_code, answer.text)
    assert snapshot(api) == before


def test_owner_team_reads_everything(world: tuple[Api, dict[str, Any], Any]) -> None:
    api, ids, headers = world
    for route in READS:
        answer = call(api, headers["alice"], route, ids)
        assert answer.status_code == 200, (route, answer.status_code, answer.text)
