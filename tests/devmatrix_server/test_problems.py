"""Every error is an RFC 9457 problem detail; nothing leaks a traceback or echoes secrets."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from devmatrix.errors import BudgetExceeded, DevMatrixError, NotFoundError, StorageError
from devmatrix_server.errors import AccountLocked, Conflict, InvalidInput, PermissionDenied

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(answer, status: int) -> dict:
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    return body


@pytest.fixture
def raising_api(sqlite_api):
    """The app plus a route raising whatever error the test names."""
    errors = {
        "not-found": NotFoundError("Plan 7 does not exist.", "Check the id."),
        "permission": PermissionDenied("Viewers have read-only access."),
        "conflict": Conflict("Already approved."),
        "invalid": InvalidInput("Bad order."),
        "locked": AccountLocked("Locked.", retry_after_seconds=90),
        "budget": BudgetExceeded("Over budget."),
        "storage": StorageError("Database unreachable."),
        "plain": DevMatrixError("Something specific."),
        "crash": RuntimeError("secret internals at /srv/app.py line 3"),
    }

    @sqlite_api.app.get("/test/raise/{name}")
    def _raise(name: str) -> None:
        raise errors[name]

    sqlite_api.client = TestClient(sqlite_api.app, raise_server_exceptions=False)
    return sqlite_api


@pytest.mark.parametrize(
    ("name", "status", "slug"),
    [
        ("not-found", 404, "not-found"),
        ("permission", 403, "permission-denied"),
        ("conflict", 409, "conflict"),
        ("invalid", 422, "invalid-input"),
        ("locked", 423, "account-locked"),
        ("budget", 429, "budget-exceeded"),
        ("storage", 503, "storage-unavailable"),
        ("plain", 400, "bad-request"),
    ],
)
def test_engine_errors_map_to_statuses(raising_api, name, status, slug):
    body = assert_problem(raising_api.client.get(f"/test/raise/{name}"), status)
    assert body["type"] == f"urn:devmatrix:problem:{slug}"
    assert body["instance"] == f"/test/raise/{name}"


def test_not_found_carries_message_and_hint(raising_api):
    body = assert_problem(raising_api.client.get("/test/raise/not-found"), 404)
    assert body["detail"] == "Plan 7 does not exist. Check the id."


def test_locked_sets_retry_after(raising_api):
    answer = raising_api.client.get("/test/raise/locked")
    assert_problem(answer, 423)
    assert answer.headers["retry-after"] == "90"


def test_unexpected_error_is_a_generic_500_without_traceback(raising_api):
    answer = raising_api.client.get("/test/raise/crash")
    body = assert_problem(answer, 500)
    assert "secret internals" not in answer.text
    assert "Traceback" not in answer.text
    assert body["type"] == "urn:devmatrix:problem:internal"


def test_unknown_route_and_wrong_method_are_problems(sqlite_api):
    assert_problem(sqlite_api.client.get("/api/v1/nothing-here"), 404)
    assert_problem(sqlite_api.client.delete("/api/v1/health/live"), 405)


def test_validation_errors_list_fields_without_echoing_input(sqlite_api):
    secret = "SECRET-PASSWORD-VALUE" * 60
    answer = sqlite_api.client.post(
        "/api/v1/auth/register",
        json={"username": "a", "email": "not-an-email", "password": secret},
    )
    body = assert_problem(answer, 422)
    assert body["type"] == "urn:devmatrix:problem:validation-error"
    fields = {tuple(error["loc"]) for error in body["errors"]}
    assert {("body", "username"), ("body", "email"), ("body", "password")} <= fields
    assert "SECRET-PASSWORD-VALUE" not in answer.text


def test_malformed_json_is_a_422_problem(sqlite_api):
    answer = sqlite_api.client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(answer, 422)


def test_openapi_documents_problem_responses(sqlite_api):
    schema = sqlite_api.client.get("/openapi.json").json()
    responses = schema["paths"]["/api/v1/admin/users/{user_id}"]["get"]["responses"]
    problem = responses["404"]["content"]["application/problem+json"]["schema"]
    assert problem["required"] == ["title", "status"]
    login = schema["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "application/problem+json" in login["422"]["content"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "examples" in schema["components"]["schemas"]["UserCreate"]


@pytest.mark.parametrize("user_id", ["0", "-1", str(2**31), str(2**70), "abc"])
def test_out_of_range_ids_are_422_not_database_errors(sqlite_api, user_id):
    api = sqlite_api
    api.register("ada")
    answer = api.client.get(f"/api/v1/admin/users/{user_id}", headers=api.headers("ada"))
    assert_problem(answer, 422)


def test_hostile_values_never_cause_a_5xx(api):
    api.client = TestClient(api.app, raise_server_exceptions=False, client=("127.0.0.1", 1))
    api.register("ada")
    headers = api.headers("ada")
    nul = "ada\x00"
    answers = [
        api.client.post("/api/v1/auth/login", json={"username": nul, "password": "x"}),
        api.client.post(
            "/api/v1/auth/register",
            json={
                "username": "bob",
                "email": "b\x00@x.io",
                "password": "orbit velvet cactus lantern",
            },
        ),
        api.client.post(
            "/api/v1/auth/register",
            json={
                "username": "carl",
                "email": "c@x.io",
                "password": "orbit velvet cactus lantern",
                "team_name": "t\x00",
            },
        ),
        api.client.get("/api/v1/users", params={"cursor": "eyJhZnRlciI6ICJ4In0"}, headers=headers),
        api.client.get(f"/api/v1/users/{2**40}", headers=headers),
    ]
    for answer in answers:
        assert answer.status_code < 500, answer.text
        assert answer.headers["content-type"] == "application/problem+json", answer.text
