"""Password policy (length, zxcvbn strength with the user's own data) and argon2id hashing."""

from __future__ import annotations

import pytest

from devmatrix.config import load_settings
from devmatrix_server.errors import InvalidInput
from devmatrix_server.security.passwords import (
    check_password_policy,
    hash_password,
    password_hasher,
    verify_password,
)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt!pass", "too short"),
        ("x" * 129, "too long"),
        ("passwordpassword", "too weak"),
        ("123456789012", "too weak"),
        ("qwertyuiopasdf", "too weak"),
    ],
)
def test_policy_refuses(password, reason):
    with pytest.raises(InvalidInput, match=reason):
        check_password_policy(password)


def test_policy_uses_the_users_own_data():
    password = "margarethamilton1936"
    check_password_policy(password)  # strong for a stranger...
    with pytest.raises(InvalidInput, match="too weak"):
        check_password_policy(password, user_inputs=["margarethamilton", "1936"])


@pytest.mark.parametrize(
    "password", ["orbit velvet cactus lantern", "x7#Lq!v92@pZ", "a" * 2 + "Vk9$mQ2!rT7w" * 10]
)
def test_policy_accepts_strong_passwords_from_12_to_128_characters(password):
    check_password_policy(password[:128])


def test_argon2id_hash_verifies_and_is_salted():
    settings = load_settings(argon2_profile="fast")
    first, second = (
        hash_password(settings, "orbit velvet cactus lantern"),
        hash_password(settings, "orbit velvet cactus lantern"),
    )
    assert first.startswith("$argon2id$")
    assert first != second
    assert verify_password(settings, first, "orbit velvet cactus lantern")
    assert not verify_password(settings, first, "orbit velvet cactus lanterN")
    assert not verify_password(settings, "not a hash", "orbit velvet cactus lantern")


def test_fast_profile_is_ignored_in_production():
    production = load_settings(env="production", jwt_secret="p" * 40, argon2_profile="fast")
    assert password_hasher(production).memory_cost >= 64 * 1024
    assert password_hasher(load_settings(argon2_profile="fast")).memory_cost < 64 * 1024


def test_registration_refuses_weak_password_with_a_problem(sqlite_api):
    answer = sqlite_api.client.post(
        "/api/v1/auth/register",
        json={"username": "ada", "email": "ada@example.com", "password": "ada-password1"},
    )
    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:devmatrix:problem:invalid-input"
    assert "too weak" in answer.json()["detail"]
