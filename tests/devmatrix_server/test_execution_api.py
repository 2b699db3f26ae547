"""The whole flow over HTTP with the scripted model: spec -> plan -> approve -> run -> review -> trace."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from devmatrix.storage.models import MasterPlan
from devmatrix_server.runs import ActiveRun
from tests.devmatrix_server.conftest import Api, ApiFactory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "execution"
SPEC = (FIXTURES / "calc_spec.md").read_text(encoding="utf-8")
RUN_TIMEOUT_SECONDS = 180


def scripted_api(
    make_api: ApiFactory, answers: Path = FIXTURES / "calc_answers.json", **settings: Any
) -> Api:
    """An API whose model plays the calc answers."""
    return make_api(llm_provider="scripted", scripted_answers=answers, **settings)


def wait_for_run(api: Api, plan_id: int, headers: dict[str, str]) -> dict[str, Any]:
    """Poll the run status until the run ends; returns the last status."""
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        answer = api.client.get(f"/api/v1/plans/{plan_id}/execution", headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] not in ("starting", "running", "paused"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"the run of plan {plan_id} did not end in {RUN_TIMEOUT_SECONDS}s")


def plan_calc(api: Api, headers: dict[str, str]) -> int:
    """Create the calc plan from its spec and approve it; returns its id."""
    created = api.client.post("/api/v1/plans", json={"spec": SPEC}, headers=headers)
    assert created.status_code == 201, created.text
    plan_id = int(created.json()["id"])
    assert created.json()["status"] == "draft"
    approved = api.client.post(f"/api/v1/plans/{plan_id}/approve", headers=headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_version"] == approved.json()["version"]
    return plan_id


def test_spec_to_verdicts_over_http(make_api: ApiFactory) -> None:
    api = scripted_api(make_api)
    api.register("ada")
    headers = api.headers("ada")
    plan_id = plan_calc(api, headers)
    c = api.client

    detail = c.get(f"/api/v1/plans/{plan_id}", headers=headers).json()
    assert detail["counts"]["tasks"] == 2
    assert detail["counts"]["atoms"] >= 4
    tasks = c.get(f"/api/v1/plans/{plan_id}/tasks", headers=headers).json()["items"]
    assert [t["code"] for t in tasks] == ["T1", "T2"]
    graph = c.get(f"/api/v1/plans/{plan_id}/graph", headers=headers).json()
    assert {"source": "tests/test_ops.py::test_add", "target": "calc/ops.py::add"} in graph["edges"]
    assert graph["waves"]
    assert graph["waves"][0]
    versions = c.get(f"/api/v1/plans/{plan_id}/versions", headers=headers).json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert c.get(f"/api/v1/plans/{plan_id}/versions/1", headers=headers).json()["status"]
    history = c.get(f"/api/v1/plans/{plan_id}/history", headers=headers).json()["items"]
    assert history[-1]["action"] == "approve"

    started = c.post(f"/api/v1/plans/{plan_id}/execution/start", headers=headers)
    assert started.status_code == 202, started.text
    again = c.post(f"/api/v1/plans/{plan_id}/execution/start", headers=headers)
    assert again.status_code == 409  # one run per plan at a time
    final = wait_for_run(api, plan_id, headers)
    assert final["status"] == "finished", final

    atoms = c.get(f"/api/v1/plans/{plan_id}/atoms", headers=headers).json()["items"]
    by_key = {a["key"]: a for a in atoms}
    assert "return a + b" in by_key["calc/ops.py::add"]["code"]
    checks = c.get(f"/api/v1/plans/{plan_id}/validation?level=1", headers=headers).json()
    assert checks["items"]
    assert all(r["level"] == 1 for r in checks["items"])
    add_id = by_key["calc/ops.py::add"]["id"]
    own = c.get(f"/api/v1/atoms/{add_id}/validation", headers=headers).json()["items"]
    assert own
    assert all(r["atom_id"] == add_id for r in own)

    tests = c.get(f"/api/v1/plans/{plan_id}/acceptance/tests", headers=headers).json()["items"]
    assert {t["requirement_code"] for t in tests} == {"REQ-1", "REQ-2"}
    gate = c.get(f"/api/v1/plans/{plan_id}/acceptance/gate", headers=headers).json()
    assert set(gate["verdicts"]) == {"REQ-1", "REQ-2"}
    assert gate["run_id"] == final["run_id"]

    chain = c.get(f"/api/v1/plans/{plan_id}/trace/requirements/REQ-1", headers=headers).json()
    assert chain["tasks"] == ["T1"]
    assert any(a["key"] == "calc/ops.py::add" for a in chain["atoms"])
    with api.session() as session:
        plan = session.get(MasterPlan, plan_id)
        assert plan is not None
        assert plan.output_dir is not None
    lines = (Path(plan.output_dir) / "calc/ops.py").read_text(encoding="utf-8").splitlines()
    number = next(i for i, text in enumerate(lines, 1) if text.startswith("def add"))
    line = c.get(
        f"/api/v1/plans/{plan_id}/trace/location",
        params={"file": "calc/ops.py", "line": number + 1},
        headers=headers,
    )
    assert line.status_code == 200, line.text
    assert line.json()["key"] == "calc/ops.py::add"

    outside = c.get(
        f"/api/v1/plans/{plan_id}/trace/location",
        params={"file": "../../etc/passwd", "line": 1},
        headers=headers,
    )
    assert outside.status_code == 400
    usage = c.get("/api/v1/usage/me", headers=headers).json()
    assert usage["calls"] >= 10
    assert usage["runs"] == 1
    api.app.state.run_registry.close()


@pytest.mark.parametrize("action", ["approve", "reject", "edit"])
def test_review_queue_closes_items(make_sqlite_api: ApiFactory, action: str) -> None:
    # Every atom below a confidence of 1.0 goes to review, so the queue is never empty.
    api = scripted_api(make_sqlite_api, review_confidence_threshold=1.0)
    api.register("ada")
    headers = api.headers("ada")
    plan_id = plan_calc(api, headers)
    api.client.post(f"/api/v1/plans/{plan_id}/execution/start", headers=headers)
    wait_for_run(api, plan_id, headers)
    queue = api.client.get(f"/api/v1/review?plan_id={plan_id}", headers=headers).json()["items"]
    assert queue, "with a threshold of 1.0 every validated atom is reviewed"
    item = queue[0]
    assert item["status"] == "open"
    assert item["proposed_code"]
    assert api.client.get(f"/api/v1/review/{item['id']}", headers=headers).json() == item
    body = {"reject": {"reason": "use a loop"}, "edit": {"code": item["proposed_code"]}}
    closed = api.client.post(
        f"/api/v1/review/{item['id']}/{action}", json=body.get(action), headers=headers
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == {"approve": "approved"}.get(action, f"{action}ed")
    twice = api.client.post(
        f"/api/v1/review/{item['id']}/{action}", json=body.get(action), headers=headers
    )
    assert twice.status_code >= 400  # an item closes once
    wait_for_run(api, plan_id, headers)  # reject/edit resume the run; let it settle
    api.app.state.run_registry.close()


def test_pause_resume_cancel(make_sqlite_api: ApiFactory) -> None:
    api = scripted_api(make_sqlite_api)
    api.register("ada")
    headers = api.headers("ada")
    plan_id = plan_calc(api, headers)
    base = f"/api/v1/plans/{plan_id}/execution"
    assert api.client.post(f"{base}/pause", headers=headers).status_code == 409  # nothing runs
    assert api.client.post(f"{base}/start", headers=headers).status_code == 202
    assert api.client.post(f"{base}/pause", headers=headers).status_code == 200
    deadline = time.monotonic() + 30
    status = ""
    while status not in ("paused", "finished") and time.monotonic() < deadline:
        status = api.client.get(base, headers=headers).json()["status"]
        time.sleep(0.1)
    # A paused run starts nothing new, so it stays paused; only atoms started before the
    # pause landed can finish it (the calc plan is small).
    assert status in ("paused", "finished")
    if status == "paused":
        assert api.client.post(f"{base}/resume", headers=headers).json()["status"] == "running"
        assert api.client.post(f"{base}/cancel", headers=headers).status_code == 200
    final = wait_for_run(api, plan_id, headers)
    assert final["status"] in ("cancelled", "finished")  # a run may finish before the cancel lands
    resumed = api.client.post(f"{base}/start", headers=headers)
    assert resumed.status_code == 202
    assert wait_for_run(api, plan_id, headers)["status"] == "finished"
    api.app.state.run_registry.close()


def held_live_run(make_api: ApiFactory) -> tuple[Api, dict[str, str], int, ActiveRun]:
    """The calc plan's run started and paused, so it is live: (api, headers, plan id, run)."""
    api = scripted_api(make_api)
    api.register("ada")
    headers = api.headers("ada")
    plan_id = plan_calc(api, headers)
    base = f"/api/v1/plans/{plan_id}/execution"
    assert api.client.post(f"{base}/start", headers=headers).status_code == 202
    assert api.client.post(f"{base}/pause", headers=headers).status_code == 200
    live = api.app.state.run_registry.active(plan_id)
    assert live is not None
    return api, headers, plan_id, live


def test_a_run_requested_during_a_live_run_follows_it(make_sqlite_api: ApiFactory) -> None:
    # A review rejected or edited while its plan runs asks for a run; the live run's scheduler has
    # already passed that atom, so the server runs the plan again once the live run ends.
    api, headers, plan_id, live = held_live_run(make_sqlite_api)
    registry = api.app.state.run_registry

    registry.start_or_follow(plan_id)
    registry.start_or_follow(plan_id)  # asked twice, followed once
    assert registry.active(plan_id) is live

    resumed = api.client.post(f"/api/v1/plans/{plan_id}/execution/resume", headers=headers)
    assert resumed.status_code == 200
    live.future.result(RUN_TIMEOUT_SECONDS)
    deadline = time.monotonic() + 30
    while registry.runs[plan_id] is live:
        assert time.monotonic() < deadline, "no run followed the live one"
        time.sleep(0.05)
    follower = registry.runs[plan_id]
    assert follower.future.result(RUN_TIMEOUT_SECONDS).status == "finished"
    time.sleep(0.5)
    assert registry.runs[plan_id] is follower  # the second request did not chain another run
    registry.close()


def test_a_cancelled_run_is_not_followed(make_sqlite_api: ApiFactory) -> None:
    api, headers, plan_id, live = held_live_run(make_sqlite_api)
    registry = api.app.state.run_registry
    registry.start_or_follow(plan_id)
    cancelled = api.client.post(f"/api/v1/plans/{plan_id}/execution/cancel", headers=headers)
    assert cancelled.status_code == 200
    live.future.result(RUN_TIMEOUT_SECONDS)
    time.sleep(0.5)
    assert registry.runs[plan_id] is live
    assert wait_for_run(api, plan_id, headers)["status"] == "cancelled"
    registry.close()


async def test_status_answers_while_every_worker_thread_is_busy(sqlite_api: Api) -> None:
    # On SQLite, authenticating and reading a run's status need no worker thread: a client
    # polling status is answered even when long `def` routes hold the whole thread pool.
    api = sqlite_api
    user = api.register("ada")
    headers = api.headers("ada")
    with api.session() as session:
        plan = MasterPlan(team_id=user["team_id"], title="Polled")
        session.add(plan)
        session.commit()
        plan_id = plan.id
    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens, limiter.total_tokens = limiter.total_tokens, 1
    release = anyio.Event()
    transport = httpx.ASGITransport(app=api.app, client=("127.0.0.1", 50000))
    try:
        async with (
            anyio.create_task_group() as group,
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
        ):
            group.start_soon(anyio.to_thread.run_sync, anyio.from_thread.run, release.wait)
            await anyio.sleep(0.05)
            assert limiter.borrowed_tokens == 1
            try:
                with anyio.fail_after(5):
                    answer = await client.get(f"/api/v1/plans/{plan_id}/execution", headers=headers)
                    other = await client.get("/api/v1/plans/999999/execution", headers=headers)
            finally:
                release.set()
    finally:
        limiter.total_tokens = tokens
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "plan_id": plan_id,
        "run_id": None,
        "status": "idle",
        "started_at": None,
        "finished_at": None,
        "cost_usd": 0.0,
        "summary": {},
    }
    assert other.status_code == 404
