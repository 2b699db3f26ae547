"""Conversations: private to their owner unless shared with a member of the same team."""

from __future__ import annotations

from tests.devmatrix_server.conftest import Api


def test_create_list_share_export_delete(sqlite_api: Api) -> None:
    api = sqlite_api
    api.register("ada")
    ada = api.headers("ada")
    api.register("bob", invite_token=api.invite(ada))
    bob = api.headers("bob")
    c = api.client

    ids = [
        c.post("/api/v1/conversations", json={"title": f"t{n}"}, headers=ada).json()["id"]
        for n in range(3)
    ]
    first = c.get("/api/v1/conversations?limit=2", headers=ada).json()
    assert [x["id"] for x in first["items"]] == ids[:2]
    rest = c.get(f"/api/v1/conversations?cursor={first['next_cursor']}", headers=ada).json()
    assert [x["id"] for x in rest["items"]] == ids[2:]
    assert rest["next_cursor"] is None

    # Same team, but not shared: bob sees nothing.
    assert c.get("/api/v1/conversations", headers=bob).json()["items"] == []
    assert c.get(f"/api/v1/conversations/{ids[0]}", headers=bob).status_code == 404

    bob_id = c.get("/api/v1/users/me", headers=bob).json()["id"]
    shared = c.post(f"/api/v1/conversations/{ids[0]}/shares", json={"user_id": bob_id}, headers=ada)
    assert shared.status_code == 201
    assert [x["id"] for x in c.get("/api/v1/conversations", headers=bob).json()["items"]] == [
        ids[0]
    ]
    assert c.get(f"/api/v1/conversations/{ids[0]}/export", headers=bob).text.startswith("# t0")
    # A share reader may not delete or re-share.
    assert c.delete(f"/api/v1/conversations/{ids[0]}", headers=bob).status_code == 404
    reshare = c.post(
        f"/api/v1/conversations/{ids[0]}/shares", json={"user_id": bob_id}, headers=bob
    )
    assert reshare.status_code == 404

    assert c.delete(f"/api/v1/conversations/{ids[0]}", headers=ada).status_code == 204
    assert c.get(f"/api/v1/conversations/{ids[0]}", headers=ada).status_code == 404
    assert c.get("/api/v1/conversations", headers=bob).json()["items"] == []


def test_requests_refuse_unknown_fields_and_foreign_users(sqlite_api: Api) -> None:
    api = sqlite_api
    api.register("ada")
    api.register("eve", team_name="elsewhere")
    ada = api.headers("ada")
    eve_id = api.client.get("/api/v1/users/me", headers=api.headers("eve")).json()["id"]
    mass = api.client.post(
        "/api/v1/conversations", json={"title": "x", "team_id": 99, "owner_id": 1}, headers=ada
    )
    assert mass.status_code == 422
    cid = api.client.post("/api/v1/conversations", json={}, headers=ada).json()["id"]
    foreign = api.client.post(
        f"/api/v1/conversations/{cid}/shares", json={"user_id": eve_id}, headers=ada
    )
    assert foreign.status_code == 404  # a user of another team does not exist for ada
