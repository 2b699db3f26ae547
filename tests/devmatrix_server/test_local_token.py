"""The language server's private-backend token: registered for a local admin, loopback only."""

from __future__ import annotations

import secrets
import time

import pytest
from fastapi.testclient import TestClient

from devmatrix.errors import ConfigError
from tests.devmatrix_server.conftest import ApiFactory
from tests.devmatrix_server.test_execution_api import plan_calc, scripted_api, wait_for_run


def _token() -> str:
    return "dmx_" + secrets.token_urlsafe(32)


def test_the_local_token_works_on_loopback(make_sqlite_api: ApiFactory) -> None:
    token = _token()
    api = make_sqlite_api(local_token=token)
    client = TestClient(api.app, base_url="http://127.0.0.1:8000", client=("127.0.0.1", 5000))
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "devmatrix-local"
    assert me.json()["role"] == "admin"
    plans = client.get("/api/v1/plans", headers={"Authorization": f"Bearer {token}"})
    assert plans.status_code == 200, plans.text


def test_a_new_local_token_revokes_the_previous_one(make_sqlite_api: ApiFactory) -> None:
    first, second = _token(), _token()
    api = make_sqlite_api(local_token=first)
    make_sqlite_api(local_token=second)  # the same database, as when the editor restarts
    client = TestClient(api.app, base_url="http://127.0.0.1:8000")
    old = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {first}"})
    assert old.status_code == 401
    new = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {second}"})
    assert new.status_code == 200, new.text


def test_a_request_through_a_public_address_revokes_it(make_sqlite_api: ApiFactory) -> None:
    token = _token()
    api = make_sqlite_api(local_token=token)
    headers = {"Authorization": f"Bearer {token}"}
    public = TestClient(api.app, base_url="http://203.0.113.7:8000", client=("198.51.100.2", 1))
    assert public.get("/api/v1/users/me", headers=headers).status_code == 401
    loopback = TestClient(api.app, base_url="http://127.0.0.1:8000")
    assert loopback.get("/api/v1/users/me", headers=headers).status_code == 401


def test_unset_means_no_local_account(make_sqlite_api: ApiFactory) -> None:
    api = make_sqlite_api()
    client = TestClient(api.app, base_url="http://127.0.0.1:8000")
    answer = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {_token()}"})
    assert answer.status_code == 401


def test_a_malformed_local_token_is_refused_at_start(make_sqlite_api: ApiFactory) -> None:
    with pytest.raises(ConfigError, match="DEVMATRIX_LOCAL_TOKEN"):
        make_sqlite_api(local_token="letmein")


def test_the_editor_token_follows_events_and_sees_reviews_closed(
    make_sqlite_api: ApiFactory,
) -> None:
    # What the language server does with its private backend: everything with the local token,
    # including the event stream, where a closed review item is announced (review_resolved).
    token = _token()
    api = scripted_api(
        make_sqlite_api,
        local_token=token,
        review_confidence_threshold=1.0,
        events_heartbeat_seconds=0.2,
    )
    client = TestClient(api.app, base_url="http://127.0.0.1:8000", client=("127.0.0.1", 5000))
    api.client = client
    headers = {"Authorization": f"Bearer {token}"}
    plan_id = plan_calc(api, headers)
    assert (
        client.post(f"/api/v1/plans/{plan_id}/execution/start", headers=headers).status_code == 202
    )
    wait_for_run(api, plan_id, headers)
    item = client.get(f"/api/v1/review?plan_id={plan_id}", headers=headers).json()["items"][0]
    # An absolute URL: the test client would otherwise use ws://testserver, not loopback.
    with client.websocket_connect(f"ws://127.0.0.1:8000/api/v1/events?plan_id={plan_id}") as ws:
        ws.send_json({"token": token})
        assert ws.receive_json()["type"] == "subscribed"
        approved = client.post(f"/api/v1/review/{item['id']}/approve", headers=headers)
        assert approved.status_code == 200, approved.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            event = ws.receive_json()
            if event["type"] == "review_resolved":
                break
        else:
            raise AssertionError("no review_resolved event")
    assert event["plan_id"] == plan_id
    assert event["payload"] == {
        "review_id": item["id"],
        "atom_id": item["atom_id"],
        "status": "approved",
    }
    api.app.state.run_registry.close()
