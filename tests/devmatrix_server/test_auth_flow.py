"""Register, login, refresh (rotation and reuse detection), logout, me, session timeouts."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from devmatrix.storage.models import AuthSession, RefreshToken, SecurityEvent, User, utcnow

PASSWORD = "orbit velvet cactus lantern"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_first_user_is_admin_and_later_users_get_their_own_team(api):
    first = api.register("ada")
    second = api.register("grace")
    assert (first["role"], second["role"]) == ("admin", "admin")
    assert first["team_id"] != second["team_id"]
    assert "password_hash" not in first


def test_invited_user_joins_the_team_with_the_invited_role(sqlite_api):
    api = sqlite_api
    ada = api.register("ada")
    invite = api.invite(api.headers("ada"), role="viewer")
    vic = api.register("vic", invite_token=invite)
    assert (vic["team_id"], vic["role"]) == (ada["team_id"], "viewer")


def test_duplicate_username_is_a_conflict_problem(sqlite_api):
    api = sqlite_api
    api.register("ada")
    answer = api.client.post(
        "/api/v1/auth/register",
        json={"username": "ADA", "email": "other@example.com", "password": PASSWORD},
    )
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"


def test_login_me_and_wrong_password(sqlite_api):
    api = sqlite_api
    api.register("ada")
    pair = api.login("ada")
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 3600
    me = api.client.get("/api/v1/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "ada"
    by_email = api.client.post(
        "/api/v1/auth/login", json={"username": "ada@example.com", "password": PASSWORD}
    )
    assert by_email.status_code == 200
    wrong = api.client.post("/api/v1/auth/login", json={"username": "ada", "password": "x" * 14})
    unknown = api.client.post(
        "/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]  # no username enumeration
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_refresh_rotates_and_reuse_revokes_the_whole_family(api):
    api.register("ada")
    first = api.login("ada")
    second = api.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_pair = second.json()
    assert second_pair["refresh_token"] != first["refresh_token"]
    assert api.client.get("/api/v1/auth/me", headers=bearer(second_pair["access_token"])).is_success

    replay = api.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    # The family is gone: the newest refresh token and the session's access tokens stop working.
    newest = api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second_pair["refresh_token"]}
    )
    assert newest.status_code == 401
    assert (
        api.client.get("/api/v1/auth/me", headers=bearer(second_pair["access_token"])).status_code
        == 401
    )
    with api.session() as session:
        events = session.exec(
            select(SecurityEvent).where(SecurityEvent.kind == "refresh_token_reuse")
        ).all()
        assert len(events) == 1
        assert events[0].severity == "high"
        assert session.exec(select(AuthSession)).one().revoked_reason == "refresh token reuse"


def test_other_sessions_survive_a_reuse_in_one_family(sqlite_api):
    api = sqlite_api
    api.register("ada")
    laptop, phone = api.login("ada"), api.login("ada")
    api.client.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    api.client.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert (
        api.client.get("/api/v1/auth/me", headers=bearer(phone["access_token"])).status_code == 200
    )


def test_logout_ends_the_session(api):
    api.register("ada")
    pair = api.login("ada")
    assert (
        api.client.post("/api/v1/auth/logout", headers=bearer(pair["access_token"])).status_code
        == 204
    )
    assert (
        api.client.get("/api/v1/auth/me", headers=bearer(pair["access_token"])).status_code == 401
    )
    again = api.client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401


def test_access_token_is_not_a_refresh_token(sqlite_api):
    api = sqlite_api
    api.register("ada")
    pair = api.login("ada")
    answer = api.client.post("/api/v1/auth/refresh", json={"refresh_token": pair["access_token"]})
    assert answer.status_code == 401
    assert (
        api.client.get("/api/v1/auth/me", headers=bearer(pair["refresh_token"])).status_code == 401
    )


def _age_session(api, **delta):
    with api.session() as session:
        auth = session.exec(select(AuthSession)).one()
        if "idle" in delta:
            auth.last_seen_at = utcnow() - delta["idle"]
        if "age" in delta:
            auth.created_at = utcnow() - delta["age"]
        session.add(auth)
        session.commit()


def test_idle_timeout_is_enforced_on_refresh(sqlite_api):
    api = sqlite_api
    api.register("ada")
    pair = api.login("ada")
    _age_session(api, idle=timedelta(hours=12, minutes=1))
    answer = api.client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert answer.status_code == 401
    assert "idle timeout" in answer.json()["detail"]


def test_absolute_timeout_is_enforced_on_refresh_even_when_active(sqlite_api):
    api = sqlite_api
    api.register("ada")
    pair = api.login("ada")
    _age_session(api, age=timedelta(days=30, minutes=1))
    answer = api.client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert answer.status_code == 401
    assert "absolute timeout" in answer.json()["detail"]


def test_a_session_within_its_limits_refreshes(sqlite_api):
    api = sqlite_api
    api.register("ada")
    pair = api.login("ada")
    _age_session(api, idle=timedelta(hours=11), age=timedelta(days=29))
    answer = api.client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert answer.status_code == 200


def test_deactivated_user_cannot_log_in_or_use_tokens(sqlite_api):
    api = sqlite_api
    api.register("ada")
    pair = api.login("ada")
    with api.session() as session:
        user = session.exec(select(User)).one()
        user.is_active = False
        session.add(user)
        session.commit()
    assert (
        api.client.get("/api/v1/auth/me", headers=bearer(pair["access_token"])).status_code == 401
    )
    answer = api.client.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert answer.status_code == 401
    assert "deactivated" in answer.json()["detail"]


def test_concurrent_refreshes_with_one_token_issue_one_pair(api):
    api.register("ada")
    pair = api.login("ada")
    barrier = threading.Barrier(4)

    def refresh(_: int) -> int:
        client = TestClient(api.app)
        barrier.wait()
        return client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        ).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(refresh, range(4)))
    assert statuses == [200, 401, 401, 401]
    with api.session() as session:
        assert len(session.exec(select(RefreshToken)).all()) == 2  # the login's and one new one
        assert session.exec(select(AuthSession)).one().revoked_reason == "refresh token reuse"
