"""Team matrix: users of two teams against every id-taking route of auth, users and admin.

No read or write crosses teams (other teams' ids answer 404), viewers only read, and role or team
cannot be mass-assigned through any request body.
"""

from __future__ import annotations

import base64
import json

import pytest
from sqlmodel import select

from devmatrix.storage.models import ApiToken, User

# Every id-taking route this matrix covers, as (method, path template).
ID_ROUTES = {
    ("GET", "/api/v1/users/{user_id}"),
    ("GET", "/api/v1/admin/users/{user_id}"),
    ("PATCH", "/api/v1/admin/users/{user_id}"),
    ("DELETE", "/api/v1/admin/users/{user_id}"),
    ("DELETE", "/api/v1/admin/users/{user_id}/2fa"),
    ("DELETE", "/api/v1/auth/tokens/{token_id}"),
}
BODIES = {"PATCH": {"role": "viewer", "is_active": False}}


def build_world(api):
    """Team A: alice (admin), bob (user), vic (viewer). Team B: carol (admin), dan (user)."""
    ids = {"alice": api.register("alice")["id"]}
    alice = api.headers("alice")
    ids["bob"] = api.register("bob", invite_token=api.invite(alice, "user"))["id"]
    ids["vic"] = api.register("vic", invite_token=api.invite(alice, "viewer"))["id"]
    ids["carol"] = api.register("carol", team_name="team-b")["id"]
    carol = api.headers("carol")
    ids["dan"] = api.register("dan", invite_token=api.invite(carol, "user"))["id"]
    headers = {name: api.headers(name) for name in ids}
    for name in ids:  # a TOTP secret each, so a stray 2FA reset would show in the snapshot
        assert api.client.post("/api/v1/auth/2fa/enrol", headers=headers[name]).status_code == 200
    token_ids = {}
    for name in ids:
        answer = api.client.post(
            "/api/v1/auth/tokens", json={"name": "t", "scopes": ["read"]}, headers=headers[name]
        )
        token_ids[name] = answer.json()["id"]
    return api, ids, headers, token_ids


@pytest.fixture(scope="module")
def shared_world(module_sqlite_api):
    """The two teams on SQLite, shared by the tests that must leave everything unchanged."""
    return build_world(module_sqlite_api)


@pytest.fixture
def world(sqlite_api):
    """The two teams on SQLite, fresh for a test that changes them."""
    return build_world(sqlite_api)


@pytest.fixture
def world_everywhere(api):
    """The two teams on SQLite and on PostgreSQL, for the central checks."""
    return build_world(api)


TEAM = {"alice": "A", "bob": "A", "vic": "A", "carol": "B", "dan": "B"}


def call(api, headers, method, template, object_id):
    path = template.replace("{user_id}", str(object_id)).replace("{token_id}", str(object_id))
    return api.client.request(method, path, headers=headers, json=BODIES.get(method))


def snapshot(api):
    with api.session() as session:
        users = {
            (u.id, u.team_id, u.role_id, u.is_active, u.totp_secret_encrypted)
            for u in session.exec(select(User))
        }
        tokens = {(t.id, t.revoked_at is None) for t in session.exec(select(ApiToken))}
    return users, tokens


def test_the_matrix_covers_every_id_taking_route(sqlite_api):
    api = sqlite_api
    owned = ("/api/v1/users", "/api/v1/admin", "/api/v1/auth")
    found = {
        (method.upper(), path)
        for path, operations in api.app.openapi()["paths"].items()
        if "{" in path and path.startswith(owned)
        for method in operations
    }
    assert found == ID_ROUTES


def test_no_read_or_write_across_teams(world_everywhere):
    api, ids, headers, token_ids = world_everywhere
    before = snapshot(api)
    for actor in ids:
        for target in ids:
            if TEAM[actor] == TEAM[target]:
                continue
            for method, template in sorted(ID_ROUTES):
                object_id = token_ids[target] if "token_id" in template else ids[target]
                answer = call(api, headers[actor], method, template, object_id)
                admin_route = template.startswith("/api/v1/admin")
                non_admin = actor not in ("alice", "carol")
                # Tokens are the caller's own (self-service), so viewers manage theirs too.
                viewer_write = actor == "vic" and method != "GET" and "token_id" not in template
                expected = 403 if (admin_route and non_admin) or viewer_write else 404
                assert answer.status_code == expected, (actor, target, method, template)
    assert snapshot(api) == before


def test_cross_team_404_looks_like_a_missing_id(shared_world):
    api, ids, headers, _ = shared_world
    other_team = api.client.get(f"/api/v1/admin/users/{ids['dan']}", headers=headers["alice"])
    missing = api.client.get("/api/v1/admin/users/999999", headers=headers["alice"])
    assert other_team.status_code == missing.status_code == 404
    assert other_team.json()["title"] == missing.json()["title"]


def test_tokens_of_other_members_of_the_same_team_are_not_found(shared_world):
    api, _, headers, token_ids = shared_world
    before = snapshot(api)
    answer = api.client.delete(f"/api/v1/auth/tokens/{token_ids['bob']}", headers=headers["alice"])
    assert answer.status_code == 404
    assert snapshot(api) == before


def test_same_team_controls_succeed(world):
    api, ids, headers, token_ids = world
    assert api.client.get(f"/api/v1/users/{ids['vic']}", headers=headers["bob"]).status_code == 200
    got = api.client.get(f"/api/v1/admin/users/{ids['bob']}", headers=headers["alice"])
    assert got.status_code == 200
    own = api.client.delete(f"/api/v1/auth/tokens/{token_ids['vic']}", headers=headers["vic"])
    assert own.status_code == 204


def test_lists_show_only_the_callers_team(world_everywhere):
    api, ids, headers, _ = world_everywhere
    for actor, url in (("dan", "/api/v1/users"), ("carol", "/api/v1/admin/users")):
        listed = {u["id"] for u in api.client.get(url, headers=headers[actor]).json()["items"]}
        assert listed == {ids["carol"], ids["dan"]}
    listed = api.client.get("/api/v1/users", headers=headers["vic"]).json()["items"]
    assert {u["id"] for u in listed} == {ids["alice"], ids["bob"], ids["vic"]}


def test_viewer_is_read_only_on_every_resource_route(shared_world):
    api, ids, headers, _ = shared_world
    before = snapshot(api)
    writes = [
        ("PATCH", "/api/v1/users/me", {"email": "vic2@example.com"}),
        ("POST", "/api/v1/users/invites", {"role": "viewer"}),
        ("PATCH", f"/api/v1/admin/users/{ids['bob']}", {"is_active": False}),
        ("DELETE", f"/api/v1/admin/users/{ids['bob']}", None),
    ]
    for method, url, body in writes:
        answer = api.client.request(method, url, json=body, headers=headers["vic"])
        assert answer.status_code == 403, (method, url)
    assert api.client.get("/api/v1/users/me", headers=headers["vic"]).status_code == 200
    assert snapshot(api) == before


def test_user_role_cannot_use_admin_routes(shared_world):
    api, ids, headers, _ = shared_world
    promote = api.client.patch(
        f"/api/v1/admin/users/{ids['bob']}", json={"role": "admin"}, headers=headers["bob"]
    )
    assert promote.status_code == 403
    invite = api.client.post(
        "/api/v1/users/invites", json={"role": "admin"}, headers=headers["bob"]
    )
    assert invite.status_code == 403


@pytest.mark.parametrize(
    "extra",
    [
        {"role": "admin"},
        {"team_id": 1},
        {"role_id": 1},
        {"is_active": True},
        {"totp_enabled": False},
    ],
)
def test_no_mass_assignment_on_own_account(shared_world, extra):
    api, _, headers, _ = shared_world
    before = snapshot(api)
    answer = api.client.patch("/api/v1/users/me", json=extra, headers=headers["bob"])
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["type"] == "extra_forbidden"
    assert snapshot(api) == before


@pytest.mark.parametrize("extra", [{"role": "admin"}, {"team_id": 1}, {"role_id": 1}])
def test_no_mass_assignment_at_registration(shared_world, extra):
    api, _, headers, _ = shared_world
    invite = api.invite(headers["alice"], "viewer")
    body = {
        "username": "mallory",
        "email": "m@example.com",
        "password": "orbit velvet cactus lantern",
    }
    answer = api.client.post(
        "/api/v1/auth/register", json={**body, "invite_token": invite, **extra}
    )
    assert answer.status_code == 422


def test_admin_cannot_move_members_between_teams_or_invite_into_another_team(shared_world):
    api, ids, headers, _ = shared_world
    before = snapshot(api)
    move = api.client.patch(
        f"/api/v1/admin/users/{ids['bob']}", json={"team_id": 2}, headers=headers["alice"]
    )
    assert move.status_code == 422
    invite = api.client.post(
        "/api/v1/users/invites", json={"role": "user", "team_id": 1}, headers=headers["carol"]
    )
    assert invite.status_code == 422
    assert snapshot(api) == before


def test_forged_invite_role_is_refused(shared_world):
    api, _, headers, _ = shared_world
    header, payload, signature = api.invite(headers["alice"], "viewer").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    body = {
        "username": "mallory",
        "email": "m@example.com",
        "password": "orbit velvet cactus lantern",
        "invite_token": f"{header}.{forged_payload}.{signature}",
    }
    assert api.client.post("/api/v1/auth/register", json=body).status_code == 401


def test_admin_cannot_demote_or_delete_themselves(shared_world):
    api, ids, headers, _ = shared_world
    url = f"/api/v1/admin/users/{ids['alice']}"
    assert api.client.patch(url, json={"role": "user"}, headers=headers["alice"]).status_code == 409
    assert api.client.delete(url, headers=headers["alice"]).status_code == 409


def test_admin_changes_role_deactivates_and_deletes_in_own_team(world):
    api, ids, headers, _ = world
    url = f"/api/v1/admin/users/{ids['bob']}"
    promoted = api.client.patch(url, json={"role": "admin"}, headers=headers["alice"])
    assert promoted.json()["role"] == "admin"
    off = api.client.patch(url, json={"is_active": False}, headers=headers["alice"])
    assert off.json()["is_active"] is False
    assert api.client.get("/api/v1/auth/me", headers=headers["bob"]).status_code == 401
    assert api.client.delete(url, headers=headers["alice"]).status_code == 204
    assert api.client.get(url, headers=headers["alice"]).status_code == 404
