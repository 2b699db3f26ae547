"""Personal access tokens: shown once, stored hashed, scoped, expiring, revocable, last use recorded."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from devmatrix.storage.models import ApiToken, utcnow
from devmatrix_server.security.tokens import token_hash


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_token(api, headers, **body):
    answer = api.client.post(
        "/api/v1/auth/tokens", json={"name": "editor", **body}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_token_is_shown_once_and_stored_hashed(sqlite_api):
    api = sqlite_api
    api.register("ada")
    headers = api.headers("ada")
    created = make_token(api, headers, scopes=["read"])
    assert created["token"].startswith("dmx_")
    with api.session() as session:
        row = session.exec(select(ApiToken)).one()
    assert row.token_hash == token_hash(created["token"])
    assert created["token"] not in (row.token_hash, row.token_prefix)
    listed = api.client.get("/api/v1/auth/tokens", headers=headers).json()["items"]
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]


def test_token_authenticates_and_records_last_use(sqlite_api):
    api = sqlite_api
    api.register("ada")
    created = make_token(api, api.headers("ada"), scopes=["read"])
    me = api.client.get("/api/v1/auth/me", headers=bearer(created["token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "ada"
    with api.session() as session:
        assert session.exec(select(ApiToken)).one().last_used_at is not None


def test_read_scope_reads_but_does_not_write(sqlite_api):
    api = sqlite_api
    api.register("ada")
    headers = api.headers("ada")
    read_only = make_token(api, headers, scopes=["read"])["token"]
    writer = make_token(api, headers, scopes=["read", "write"])["token"]
    assert api.client.get("/api/v1/users/me", headers=bearer(read_only)).status_code == 200
    change = {"email": "ada2@example.com"}
    refused = api.client.patch("/api/v1/users/me", json=change, headers=bearer(read_only))
    assert refused.status_code == 403
    assert "write" in refused.json()["detail"]
    assert (
        api.client.patch("/api/v1/users/me", json=change, headers=bearer(writer)).status_code == 200
    )


def test_write_only_token_cannot_read(sqlite_api):
    api = sqlite_api
    api.register("ada")
    writer = make_token(api, api.headers("ada"), scopes=["write"])["token"]
    assert api.client.get("/api/v1/users/me", headers=bearer(writer)).status_code == 403


def test_admin_routes_need_the_admin_scope_even_for_admins(sqlite_api):
    api = sqlite_api
    api.register("ada")
    headers = api.headers("ada")
    plain = make_token(api, headers, scopes=["read", "write"])["token"]
    admin = make_token(api, headers, scopes=["read", "admin"])["token"]
    assert api.client.get("/api/v1/admin/users", headers=bearer(plain)).status_code == 403
    assert api.client.get("/api/v1/admin/users", headers=bearer(admin)).status_code == 200


def test_revoked_token_stops_working(sqlite_api):
    api = sqlite_api
    api.register("ada")
    headers = api.headers("ada")
    created = make_token(api, headers, scopes=["read"])
    url = f"/api/v1/auth/tokens/{created['id']}"
    assert api.client.delete(url, headers=headers).status_code == 204
    answer = api.client.get("/api/v1/auth/me", headers=bearer(created["token"]))
    assert answer.status_code == 401
    assert "revoked" in answer.json()["detail"]
    listed = api.client.get("/api/v1/auth/tokens", headers=headers).json()["items"]
    assert listed[0]["revoked_at"] is not None


def test_expired_token_stops_working(sqlite_api):
    api = sqlite_api
    api.register("ada")
    created = make_token(api, api.headers("ada"), scopes=["read"], expires_in_days=1)
    assert api.client.get("/api/v1/auth/me", headers=bearer(created["token"])).status_code == 200
    with api.session() as session:
        row = session.exec(select(ApiToken)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    answer = api.client.get("/api/v1/auth/me", headers=bearer(created["token"]))
    assert answer.status_code == 401
    assert "expired" in answer.json()["detail"]


def test_unknown_token_and_token_management_with_a_token(sqlite_api):
    api = sqlite_api
    api.register("ada")
    headers = api.headers("ada")
    assert api.client.get("/api/v1/auth/me", headers=bearer("dmx_" + "x" * 43)).status_code == 401
    token = make_token(api, headers, scopes=["read", "write"])["token"]
    # A leaked token must not be able to mint more tokens or keep itself alive.
    answer = api.client.post(
        "/api/v1/auth/tokens", json={"name": "more", "scopes": ["read"]}, headers=bearer(token)
    )
    assert answer.status_code == 403


def test_scopes_are_capped_by_role(sqlite_api):
    api = sqlite_api
    api.register("ada")
    admin_headers = api.headers("ada")
    api.register("bob", invite_token=api.invite(admin_headers, role="user"))
    api.register("vic", invite_token=api.invite(admin_headers, role="viewer"))
    bob, vic = api.headers("bob"), api.headers("vic")
    assert (
        api.client.post(
            "/api/v1/auth/tokens", json={"name": "x", "scopes": ["admin"]}, headers=bob
        ).status_code
        == 403
    )
    assert (
        api.client.post(
            "/api/v1/auth/tokens", json={"name": "x", "scopes": ["write"]}, headers=vic
        ).status_code
        == 403
    )
    assert make_token(api, vic, scopes=["read"])["scopes"] == ["read"]
    bad_scope = api.client.post(
        "/api/v1/auth/tokens", json={"name": "x", "scopes": ["root"]}, headers=bob
    )
    assert bad_scope.status_code == 422


def test_token_of_a_demoted_user_loses_the_scopes_of_the_old_role(sqlite_api):
    api = sqlite_api
    api.register("ada")
    admin_headers = api.headers("ada")
    bob_id = api.register("bob", invite_token=api.invite(admin_headers, role="user"))["id"]
    token = make_token(api, api.headers("bob"), scopes=["read", "write"])["token"]
    demote = api.client.patch(
        f"/api/v1/admin/users/{bob_id}", json={"role": "viewer"}, headers=admin_headers
    )
    assert demote.status_code == 200
    change = {"email": "bob2@example.com"}
    assert (
        api.client.patch("/api/v1/users/me", json=change, headers=bearer(token)).status_code == 403
    )
    assert api.client.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
