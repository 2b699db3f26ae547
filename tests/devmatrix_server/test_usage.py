"""Usage and quotas: a spent quota is refused before any model call, naming the limit and reset."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import func, select

from devmatrix.storage.models import UsageRecord
from tests.devmatrix_server.conftest import Api, ApiFactory

CALC = Path(__file__).resolve().parents[1] / "fixtures" / "execution" / "calc_answers.json"


def usage_rows(api: Api) -> int:
    """How many model calls were recorded."""
    with api.session() as session:
        return int(session.exec(select(func.count()).select_from(UsageRecord)).one())


def test_spent_quota_refuses_before_any_model_call(make_api: ApiFactory) -> None:
    api = make_api(llm_provider="scripted", scripted_answers=CALC)
    api.register("ada")
    ada = api.headers("ada")
    api.register("bob", invite_token=api.invite(ada))
    bob = api.headers("bob")
    bob_id = api.client.get("/api/v1/users/me", headers=bob).json()["id"]

    limit = api.client.put(f"/api/v1/quotas/users/{bob_id}", json={"max_tokens": 0}, headers=ada)
    assert limit.status_code == 200, limit.text
    assert limit.json()["max_tokens"] == 0
    assert api.client.get("/api/v1/quotas/me", headers=bob).json()["max_tokens"] == 0

    cid = api.client.post("/api/v1/conversations", json={}, headers=bob).json()["id"]
    for path, body in (
        ("/api/v1/plans", {"spec": "a calc library"}),
        (f"/api/v1/conversations/{cid}/messages", {"content": "build a calc library"}),
    ):
        refused = api.client.post(path, json=body, headers=bob)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        detail = refused.json()["detail"]
        assert "user quota for tokens" in detail
        assert "resets at" in detail
    assert usage_rows(api) == 0

    # The team quota binds every member, ada included; lifting bob's limit does not lift it.
    api.client.put(f"/api/v1/quotas/users/{bob_id}", json={}, headers=ada)
    api.client.put("/api/v1/quotas/team", json={"max_cost_usd": 0}, headers=ada)
    refused = api.client.post("/api/v1/plans", json={"spec": "a calc library"}, headers=ada)
    assert refused.status_code == 429
    assert "team quota for cost in USD" in refused.json()["detail"]
    assert usage_rows(api) == 0


def test_run_quota_and_admin_only_settings(sqlite_api: Api) -> None:
    api = sqlite_api
    api.register("ada")
    ada = api.headers("ada")
    api.register("bob", invite_token=api.invite(ada))
    bob = api.headers("bob")
    ada_id = api.client.get("/api/v1/users/me", headers=ada).json()["id"]

    # Members read their quotas but cannot set them, not even their own.
    assert api.client.get("/api/v1/quotas/team", headers=bob).status_code == 200
    assert api.client.put("/api/v1/quotas/team", json={}, headers=bob).status_code == 403
    assert api.client.put(f"/api/v1/quotas/users/{ada_id}", json={}, headers=bob).status_code == 403
    assert api.client.get("/api/v1/usage/team", headers=bob).status_code == 403
    negative = api.client.put("/api/v1/quotas/team", json={"max_runs": -1}, headers=ada)
    assert negative.status_code == 422

    mine = api.client.get("/api/v1/usage/me", headers=bob).json()
    assert mine["calls"] == 0
    assert mine["runs"] == 0
    assert mine["resets_at"] > mine["period_start"]
    team = api.client.get("/api/v1/usage/team", headers=ada).json()
    assert team["scope"] == "team"


def test_run_quota_refuses_a_run(make_sqlite_api: ApiFactory) -> None:
    api = make_sqlite_api(llm_provider="scripted", scripted_answers=CALC)
    api.register("ada")
    ada = api.headers("ada")
    spec = (CALC.parent / "calc_spec.md").read_text(encoding="utf-8")
    plan_id = api.client.post("/api/v1/plans", json={"spec": spec}, headers=ada).json()["id"]
    assert api.client.post(f"/api/v1/plans/{plan_id}/approve", headers=ada).status_code == 200
    calls = usage_rows(api)
    assert (
        api.client.put("/api/v1/quotas/team", json={"max_runs": 0}, headers=ada).status_code == 200
    )
    for path in ("execution/start", "acceptance/execute"):
        refused = api.client.post(f"/api/v1/plans/{plan_id}/{path}", headers=ada)
        assert refused.status_code == 429
        assert "team quota for runs" in refused.json()["detail"]
    status = api.client.get(f"/api/v1/plans/{plan_id}/execution", headers=ada).json()
    assert status["status"] == "idle"
    assert usage_rows(api) == calls
