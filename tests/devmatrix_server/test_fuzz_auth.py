"""Property-based bodies against the auth, users and admin routes: never a 5xx, errors are problems."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "username",
    "email",
    "password",
    "invite_token",
    "team_name",
    "totp_code",
    "refresh_token",
    "code",
    "name",
    "scopes",
    "expires_in_days",
    "role",
    "is_active",
    "team_id",
    "current_password",
    "new_password",
]
BODIES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), JSON, max_size=6) | JSON

ROUTES = [
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/tokens"),
    ("POST", "/api/v1/auth/2fa/verify"),
    ("POST", "/api/v1/auth/2fa/disable"),
    ("PATCH", "/api/v1/users/me"),
    ("POST", "/api/v1/users/me/password"),
    ("POST", "/api/v1/users/invites"),
    ("PATCH", "/api/v1/admin/users/2"),
]


@pytest.fixture(scope="module")
def fuzz_target(module_sqlite_api):
    api = module_sqlite_api
    api.register("ada")
    api.register("bob", invite_token=api.invite(api.headers("ada")))
    return api, api.headers("ada")


@pytest.mark.parametrize(("method", "path"), ROUTES)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES)
def test_no_5xx_on_any_json_body(fuzz_target, method, path, body):
    api, headers = fuzz_target
    answer = api.client.request(method, path, json=body, headers=headers)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json"
