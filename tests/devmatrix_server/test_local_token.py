"""The language server's private-backend token: registered for a local admin, loopback only."""

from __future__ import annotations

import secrets

import pytest
from fastapi.testclient import TestClient

from devmatrix.errors import ConfigError
from tests.devmatrix_server.conftest import ApiFactory


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
