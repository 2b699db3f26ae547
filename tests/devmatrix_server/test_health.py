"""Liveness and readiness, with the database always and Redis / Chroma / provider when configured."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_live_needs_no_auth(sqlite_api):
    answer = sqlite_api.client.get("/api/v1/health/live")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_ready_checks_the_database(sqlite_api):
    answer = sqlite_api.client.get("/api/v1/health/ready")
    assert answer.status_code == 200
    assert answer.json()["checks"] == [{"part": "database", "ok": True, "detail": "sqlite"}]


def test_ready_reports_configured_redis(make_sqlite_api, redis_url):
    api = make_sqlite_api(redis_url=redis_url)
    checks = {c["part"]: c for c in api.client.get("/api/v1/health/ready").json()["checks"]}
    assert checks["redis"]["ok"] is True


def test_ready_is_503_when_a_configured_service_is_down(make_sqlite_api):
    port = free_port()  # nothing listens there
    api = make_sqlite_api(chroma_url=f"http://127.0.0.1:{port}")
    answer = api.client.get("/api/v1/health/ready")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "degraded"
    checks = {c["part"]: c for c in body["checks"]}
    assert checks["chroma"]["ok"] is False
    assert checks["database"]["ok"] is True


def test_ready_reports_a_scripted_provider_without_its_answers_file(make_sqlite_api, tmp_path):
    api = make_sqlite_api(llm_provider="scripted", scripted_answers=tmp_path / "missing.json")
    checks = {c["part"]: c for c in api.client.get("/api/v1/health/ready").json()["checks"]}
    assert checks["model_provider"] == {"part": "model_provider", "ok": False, "detail": "scripted"}


def test_ready_on_postgres(api):
    checks = api.client.get("/api/v1/health/ready").json()["checks"]
    assert checks[0]["part"] == "database"
    assert checks[0]["ok"] is True
