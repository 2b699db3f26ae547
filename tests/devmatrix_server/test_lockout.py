"""Lockout after five failed logins, escalating 15/30/60/120/240 minutes, with security events."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from devmatrix.storage.models import SecurityEvent, User, utcnow
from devmatrix_server.security.lockout import lockout_duration

PASSWORD = "orbit velvet cactus lantern"


def fail(api, times: int):
    answers = [
        api.client.post(
            "/api/v1/auth/login", json={"username": "ada", "password": "wrong password!!"}
        )
        for _ in range(times)
    ]
    return answers[-1]


def unlock_by_clock(api) -> None:
    """Move the lock into the past, as if its minutes had passed."""
    with api.session() as session:
        user = session.exec(select(User)).one()
        user.locked_until = utcnow() - timedelta(seconds=1)
        session.add(user)
        session.commit()


@pytest.mark.parametrize(
    ("count", "minutes"), [(0, 15), (1, 30), (2, 60), (3, 120), (4, 240), (9, 240)]
)
def test_schedule(count, minutes):
    assert lockout_duration(count) == timedelta(minutes=minutes)


def test_five_failures_lock_and_each_lockout_lasts_longer(sqlite_api):
    api = sqlite_api
    api.register("ada")
    assert fail(api, 4).status_code == 401
    for minutes in (15, 30, 60, 120, 240, 240):
        locked = fail(api, 1) if minutes == 15 else fail(api, 5)
        assert locked.status_code == 401  # the fifth failure itself still says "wrong password"
        refused = api.client.post(
            "/api/v1/auth/login", json={"username": "ada", "password": PASSWORD}
        )
        assert refused.status_code == 423
        assert refused.headers["content-type"] == "application/problem+json"
        retry_after = int(refused.headers["retry-after"])
        assert minutes * 60 - 5 <= retry_after <= minutes * 60
        assert f"{minutes} minute" in refused.json()["detail"]
        unlock_by_clock(api)
    with api.session() as session:
        kinds = [
            e.kind for e in session.exec(select(SecurityEvent).order_by(SecurityEvent.id)).all()
        ]
    assert kinds.count("account_locked") == 6
    assert kinds.count("failed_login_burst") == 6


def test_correct_password_is_refused_while_locked(sqlite_api):
    api = sqlite_api
    api.register("ada")
    fail(api, 5)
    answer = api.client.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert answer.status_code == 423


def test_success_resets_the_counters(sqlite_api):
    api = sqlite_api
    api.register("ada")
    fail(api, 4)
    api.login("ada")
    assert fail(api, 4).status_code == 401  # four more: still not locked, the count restarted
    api.login("ada")
    with api.session() as session:
        user = session.exec(select(User)).one()
        assert (user.failed_logins, user.lockout_count, user.locked_until) == (0, 0, None)


def test_burst_event_names_the_account_and_address(sqlite_api):
    api = sqlite_api
    api.register("ada")
    fail(api, 3)
    with api.session() as session:
        event = session.exec(select(SecurityEvent)).one()
    assert event.kind == "failed_login_burst"
    assert event.ip == "127.0.0.1"
    assert event.detail["username"] == "ada"


def test_parallel_guesses_cannot_outrun_the_lockout(api):
    api.register("ada")
    barrier = threading.Barrier(8)

    def guess(_: int) -> int:
        client = TestClient(api.app)
        barrier.wait()
        return client.post(
            "/api/v1/auth/login", json={"username": "ada", "password": "wrong password!!"}
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(guess, range(8)))
    assert set(statuses) <= {401, 423}
    with api.session() as session:
        user = session.exec(select(User)).one()
        locks = session.exec(select(SecurityEvent).where(SecurityEvent.kind == "account_locked"))
        assert len(locks.all()) == 1
    # Eight guesses: five lock the account, the others either arrive locked or count again.
    assert user.lockout_count == 1
    assert user.locked_until is not None
    answer = api.client.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert answer.status_code == 423
