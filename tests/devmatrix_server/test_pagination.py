"""Cursor pagination: stable pages, bounded size, refused foreign cursors."""

from __future__ import annotations

import pytest

from devmatrix_server.errors import InvalidInput
from devmatrix_server.pagination import MAX_PAGE_SIZE, decode_cursor, encode_cursor


@pytest.mark.parametrize("after", [0, 42, "uuid-like-id"])
def test_cursor_round_trip(after):
    assert decode_cursor(encode_cursor(after)) == after


@pytest.mark.parametrize("cursor", ["!!!", "bm90IGpzb24", "eyJ4IjogMX0", "eyJhZnRlciI6IHRydWV9"])
def test_foreign_cursors_are_refused(cursor):
    with pytest.raises(InvalidInput):
        decode_cursor(cursor)


def test_pages_walk_the_whole_team_once(sqlite_api):
    api = sqlite_api
    api.register("alice")
    admin = api.headers("alice")
    invite = api.invite(admin)
    for n in range(6):
        api.register(f"member{n}", invite_token=invite)
    api.register("outsider")  # another team: never listed
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/api/v1/users", params=params, headers=admin).json()
        seen += [user["username"] for user in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["alice"] + [f"member{n}" for n in range(6)]
    assert pages == 3


def test_page_size_is_bounded(sqlite_api):
    api = sqlite_api
    api.register("alice")
    headers = api.headers("alice")
    too_big = api.client.get("/api/v1/users", params={"limit": MAX_PAGE_SIZE + 1}, headers=headers)
    assert too_big.status_code == 422
    assert api.client.get("/api/v1/users", params={"limit": 0}, headers=headers).status_code == 422
    bad = api.client.get("/api/v1/users", params={"cursor": "garbage!"}, headers=headers)
    assert bad.status_code == 422
    assert "cursor" in bad.json()["detail"]
