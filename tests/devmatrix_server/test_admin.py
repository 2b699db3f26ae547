"""Admin routes: optional IP allow-list, role-change security events, own-account edits."""

from __future__ import annotations

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from devmatrix.errors import ConfigError
from devmatrix.storage.models import SecurityEvent
from devmatrix_server.deps import ip_allowed

PASSWORD = "orbit velvet cactus lantern"


@pytest.mark.parametrize(
    ("host", "allowlist", "allowed"),
    [
        ("127.0.0.1", ["127.0.0.1"], True),
        ("10.1.2.3", ["10.0.0.0/8"], True),
        ("11.1.2.3", ["10.0.0.0/8"], False),
        ("::1", ["::1/128"], True),
        ("testclient", ["10.0.0.0/8"], False),
        (None, ["0.0.0.0/0"], False),
    ],
)
def test_ip_allowed(host, allowlist, allowed):
    assert ip_allowed(host, allowlist) is allowed


def test_admin_routes_refuse_addresses_outside_the_allowlist(make_sqlite_api):
    api = make_sqlite_api(admin_ip_allowlist=["10.0.0.0/8"])
    api.register("ada")
    headers = api.headers("ada")
    refused = api.client.get("/api/v1/admin/users", headers=headers)
    assert refused.status_code == 403
    assert "network address" in refused.json()["detail"]
    assert api.client.get("/api/v1/users", headers=headers).status_code == 200  # not an admin route
    inside = TestClient(api.app, client=("10.4.5.6", 40000))
    assert inside.get("/api/v1/admin/users", headers=headers).status_code == 200


def test_bad_allowlist_entry_fails_at_start(make_sqlite_api):
    with pytest.raises(ConfigError, match="ADMIN_IP_ALLOWLIST"):
        make_sqlite_api(admin_ip_allowlist=["not-a-network"])


def test_role_change_writes_a_security_event(sqlite_api):
    api = sqlite_api
    ada_id = api.register("ada")["id"]
    headers = api.headers("ada")
    bob_id = api.register("bob", invite_token=api.invite(headers))["id"]
    answer = api.client.patch(
        f"/api/v1/admin/users/{bob_id}", json={"role": "viewer"}, headers=headers
    )
    assert answer.json()["role"] == "viewer"
    with api.session() as session:
        event = session.exec(
            select(SecurityEvent).where(SecurityEvent.kind == "role_changed")
        ).one()
    assert event.user_id == bob_id
    assert event.detail == {"by": ada_id, "from": "user", "to": "viewer"}


def test_own_email_change_and_conflict(sqlite_api):
    api = sqlite_api
    api.register("ada")
    api.register("grace")
    headers = api.headers("ada")
    changed = api.client.patch(
        "/api/v1/users/me", json={"email": "Ada@Lovelace.example"}, headers=headers
    )
    assert changed.status_code == 200
    assert changed.json()["email"] == "ada@lovelace.example"
    taken = api.client.patch(
        "/api/v1/users/me", json={"email": "grace@example.com"}, headers=headers
    )
    assert taken.status_code == 409


def test_password_change_checks_policy_and_ends_other_sessions(sqlite_api):
    api = sqlite_api
    api.register("ada")
    api.register("vic", invite_token=api.invite(api.headers("ada"), role="viewer"))
    other, current = api.login("vic"), api.login("vic")
    url = "/api/v1/users/me/password"
    headers = {"Authorization": f"Bearer {current['access_token']}"}
    new = "quartz meadow bicycle thunder"
    wrong = api.client.post(
        url, json={"current_password": "x" * 14, "new_password": new}, headers=headers
    )
    assert wrong.status_code == 401
    weak = api.client.post(
        url,
        json={"current_password": PASSWORD, "new_password": "passwordpassword"},
        headers=headers,
    )
    assert weak.status_code == 422
    changed = api.client.post(
        url, json={"current_password": PASSWORD, "new_password": new}, headers=headers
    )
    assert changed.status_code == 204  # viewers may change their own password
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 200
    stale = {"Authorization": f"Bearer {other['access_token']}"}
    assert api.client.get("/api/v1/auth/me", headers=stale).status_code == 401
    old = api.client.post("/api/v1/auth/login", json={"username": "vic", "password": PASSWORD})
    assert old.status_code == 401
    assert (
        api.client.post("/api/v1/auth/login", json={"username": "vic", "password": new}).status_code
        == 200
    )


def test_admin_resets_a_members_two_factor(sqlite_api):
    api = sqlite_api
    api.register("ada")
    admin = api.headers("ada")
    bob_id = api.register("bob", invite_token=api.invite(admin))["id"]
    bob = api.headers("bob")
    uri = api.client.post("/api/v1/auth/2fa/enrol", headers=bob).json()["otpauth_uri"]
    code = pyotp.parse_uri(uri).now()
    assert api.client.post("/api/v1/auth/2fa/verify", json={"code": code}, headers=bob).is_success
    locked_out = api.client.post(
        "/api/v1/auth/login", json={"username": "bob", "password": PASSWORD}
    )
    assert locked_out.status_code == 401
    reset = api.client.delete(f"/api/v1/admin/users/{bob_id}/2fa", headers=admin)
    assert reset.status_code == 204
    api.login("bob")
    with api.session() as session:
        event = session.exec(
            select(SecurityEvent).where(SecurityEvent.kind == "2fa_disabled")
        ).one()
    assert event.detail == {"by": 1}
