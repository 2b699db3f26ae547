"""Token attacks against the JWT checks: every forged or defective token is refused with 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devmatrix.config import load_settings
from devmatrix_server.errors import AuthenticationFailed
from devmatrix_server.security.jwt import decode_token, issue_token, key_id

SECRET = "attack-test-secret-" + "y" * 40


@pytest.fixture
def settings():
    return load_settings(jwt_secret=SECRET)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forge(
    header: dict[str, Any], claims: dict[str, Any], key: bytes | None = SECRET.encode()
) -> str:
    """Hand-built JWT: any header, any claims, HMAC-SHA256 signature with `key` (None: empty)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{b64(signature)}"


def good_claims(settings, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "1",
        "typ": "access",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
        "jti": "abc",
        "sid": "s",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def good_header(settings, **changes: Any) -> dict[str, Any]:
    header = {"alg": "HS256", "typ": "JWT", "kid": key_id(settings)}
    header.update(changes)
    return {k: v for k, v in header.items() if v is not None}


def refused(settings, token: str) -> str:
    with pytest.raises(AuthenticationFailed) as caught:
        decode_token(settings, token, purpose="access")
    return caught.value.message


def test_the_forging_helper_makes_acceptable_tokens(settings):
    # Guards the tests below: a forged token with nothing wrong must pass.
    claims = decode_token(
        settings, forge(good_header(settings), good_claims(settings)), purpose="access"
    )
    assert claims["sub"] == "1"


def test_issued_token_round_trips_with_every_required_claim(settings):
    token, issued = issue_token(
        settings, subject="7", purpose="access", lifetime=timedelta(minutes=5)
    )
    claims = decode_token(settings, token, purpose="access")
    assert claims == issued
    assert {"exp", "iat", "iss", "aud", "sub", "jti"} <= set(claims)
    assert pyjwt.get_unverified_header(token) == {
        "alg": "HS256",
        "typ": "JWT",
        "kid": key_id(settings),
    }


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "NoNe"])
@pytest.mark.parametrize("signed", [False, True])
def test_alg_none_in_any_case_is_refused(settings, alg, signed):
    token = forge(
        good_header(settings, alg=alg), good_claims(settings), SECRET.encode() if signed else None
    )
    assert "algorithm" in refused(settings, token)


def test_rs256_token_signed_with_an_rsa_key_is_refused(settings):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = pyjwt.encode(
        good_claims(settings), private, algorithm="RS256", headers={"kid": key_id(settings)}
    )
    assert "algorithm" in refused(settings, token)


def test_hs256_token_signed_with_a_public_key_as_secret_is_refused(settings):
    # Key confusion: an attacker who knows a public key uses it as the HMAC secret.
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = forge(good_header(settings), good_claims(settings), pem)
    assert "invalid" in refused(settings, token)


def test_header_claiming_rs256_over_an_hmac_signature_is_refused(settings):
    token = forge(good_header(settings, alg="RS256"), good_claims(settings))
    assert "algorithm" in refused(settings, token)


@pytest.mark.parametrize("kid", ["other-key", "", "../../etc/passwd", None])
def test_unknown_or_missing_kid_is_refused(settings, kid):
    header = good_header(settings, kid=kid)
    if kid is None:
        header.pop("kid", None)
    assert "unknown key" in refused(settings, forge(header, good_claims(settings)))


@pytest.mark.parametrize("crit", [["exp"], ["b64"], []])
def test_crit_header_is_refused(settings, crit):
    # PyJWT already refuses unknown `crit` entries while reading the header; we refuse any `crit`.
    message = refused(settings, forge(good_header(settings, crit=crit), good_claims(settings)))
    assert "extensions" in message or "well-formed" in message


def test_tampered_payload_is_refused(settings):
    token, _ = issue_token(settings, subject="7", purpose="access", lifetime=timedelta(minutes=5))
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "1"
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert "invalid" in refused(settings, forged)


def test_signature_with_another_secret_is_refused(settings):
    token = forge(
        good_header(settings), good_claims(settings), b"some-other-secret-of-enough-length"
    )
    assert "invalid" in refused(settings, token)


def test_expired_token_is_refused(settings):
    past = int(time.time()) - 3600
    token = forge(good_header(settings), good_claims(settings, iat=past - 60, exp=past))
    assert "expired" in refused(settings, token)


@pytest.mark.parametrize(("claim", "value"), [("aud", "someone-else"), ("iss", "evil-issuer")])
def test_wrong_audience_or_issuer_is_refused(settings, claim, value):
    assert "invalid" in refused(
        settings, forge(good_header(settings), good_claims(settings, **{claim: value}))
    )


def test_audience_list_containing_ours_is_refused(settings):
    claims = good_claims(settings, aud=[settings.jwt_audience, "other"])
    assert "invalid" in refused(settings, forge(good_header(settings), claims))


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "jti"])
def test_each_required_claim_must_be_present(settings, claim):
    claims = good_claims(settings)
    del claims[claim]
    assert "invalid" in refused(settings, forge(good_header(settings), claims))


def test_refresh_token_is_not_an_access_token(settings):
    token = forge(good_header(settings), good_claims(settings, typ="refresh"))
    assert "expected 'access'" in refused(settings, token)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "....",
        "eyJhbGciOiJIUzI1NiJ9.%%%.x",
        "\u00e9t\u00e9.x.y",
    ],
)
def test_malformed_tokens_are_refused(settings, token):
    refused(settings, token)


def test_attacks_over_http_answer_401_problems(sqlite_api):
    api = sqlite_api
    settings = api.app.state.settings
    user = api.register("ada")
    claims = good_claims(settings, sub=str(user["id"]))
    forged = [
        forge(good_header(settings, alg="none"), claims, None),
        forge(good_header(settings), claims, b"wrong-secret"),
        forge(good_header(settings, kid="x"), claims),
        "not-a-token",
    ]
    for token in forged:
        answer = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, token
        assert answer.headers["content-type"] == "application/problem+json"
        assert "Traceback" not in answer.text
    missing = api.client.get("/api/v1/auth/me")
    assert missing.status_code == 401
    basic = api.client.get("/api/v1/auth/me", headers={"Authorization": "Basic YWRhOng="})
    assert basic.status_code == 401


# A token's verification is remembered; these check that remembering never accepts more.


def test_a_verified_token_is_refused_once_it_expires(settings):
    now = int(time.time())
    token = forge(good_header(settings), good_claims(settings, iat=now - 60, exp=now + 1))
    assert decode_token(settings, token, purpose="access")["sub"] == "1"
    time.sleep(max(0.0, now + 1 - time.time()) + 0.05)
    assert "expired" in refused(settings, token)


def test_a_verified_token_is_refused_under_another_secret(settings):
    token = forge(good_header(settings), good_claims(settings))
    assert decode_token(settings, token, purpose="access")["sub"] == "1"
    rotated = load_settings(jwt_secret="rotated-secret-" + "z" * 40)
    assert "unknown key" in refused(rotated, token)


def test_a_verified_token_keeps_its_type_check(settings):
    token = forge(good_header(settings), good_claims(settings, typ="refresh"))
    assert decode_token(settings, token, purpose="refresh")["typ"] == "refresh"
    assert "expected 'access'" in refused(settings, token)


def test_changing_returned_claims_does_not_change_the_next_answer(settings):
    token = forge(good_header(settings), good_claims(settings))
    decode_token(settings, token, purpose="access")["sub"] = "999"
    assert decode_token(settings, token, purpose="access")["sub"] == "1"
