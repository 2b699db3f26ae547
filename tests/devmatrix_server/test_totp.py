"""TOTP two-factor: enrol (URI + QR), verify turns it on, login needs a code, recovery codes, disable."""

from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from devmatrix.config import load_settings
from devmatrix.storage.models import SecurityEvent, User
from devmatrix_server.errors import Conflict
from devmatrix_server.security import totp

PASSWORD = "orbit velvet cactus lantern"


def wrong_code(app_totp: pyotp.TOTP) -> str:
    """A 6-digit code valid in none of the 30 s steps the server could accept around now."""
    now = time.time()
    valid = {app_totp.at(now + step) for step in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def test_secret_is_encrypted_and_bound_to_the_server_secret():
    settings = load_settings(jwt_secret="a" * 40)
    enrolment = totp.enrol(settings, "ada@example.com")
    secret = pyotp.parse_uri(enrolment.otpauth_uri).secret
    assert secret not in enrolment.secret_encrypted
    assert totp.decrypt_secret(settings, enrolment.secret_encrypted) == secret
    other = load_settings(jwt_secret="b" * 40)
    with pytest.raises(Conflict, match="cannot be decrypted"):
        totp.decrypt_secret(other, enrolment.secret_encrypted)


def test_codes_and_recovery_codes():
    settings = load_settings(jwt_secret="a" * 40)
    enrolment = totp.enrol(settings, "ada")
    app_totp = pyotp.TOTP(totp.decrypt_secret(settings, enrolment.secret_encrypted))
    assert totp.verify_code(settings, enrolment.secret_encrypted, app_totp.now())
    assert not totp.verify_code(settings, enrolment.secret_encrypted, wrong_code(app_totp))
    assert not totp.verify_code(settings, enrolment.secret_encrypted, "abcdef")
    codes, hashes = totp.new_recovery_codes(settings)
    assert len(codes) == len(set(codes)) == 10
    assert not set(codes) & set(hashes)
    remaining = totp.consume_recovery_code(settings, hashes, codes[2].lower().replace("-", " "))
    assert remaining is not None
    assert len(remaining) == 9
    assert totp.consume_recovery_code(settings, remaining, codes[2]) is None


def test_a_code_is_accepted_once():
    settings = load_settings(jwt_secret="a" * 40)
    sealed = totp.enrol(settings, "ada").secret_encrypted
    app_totp = pyotp.TOTP(totp.decrypt_secret(settings, sealed))
    code = app_totp.now()
    advanced = totp.accept_code(settings, sealed, code)
    assert advanced is not None
    assert totp.decrypt_secret(settings, advanced) == app_totp.secret
    assert totp.accept_code(settings, advanced, code) is None
    assert totp.accept_code(settings, advanced, app_totp.at(time.time() - 30)) is None
    assert totp.accept_code(settings, advanced, app_totp.at(time.time() + 30)) is not None


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_enrol_verify_login_recovery_disable(sqlite_api):
    api = sqlite_api
    api.register("ada")
    headers = api.headers("ada")
    enrolment = api.client.post("/api/v1/auth/2fa/enrol", headers=headers)
    assert enrolment.status_code == 200
    body = enrolment.json()
    assert base64.b64decode(body["qr_png_base64"]).startswith(b"\x89PNG")
    app_totp = pyotp.parse_uri(body["otpauth_uri"])
    assert app_totp.issuer == "DevMatrix"

    verify = "/api/v1/auth/2fa/verify"
    wrong = api.client.post(verify, json={"code": wrong_code(app_totp)}, headers=headers)
    assert wrong.status_code == 401
    verified = api.client.post(verify, json={"code": app_totp.now()}, headers=headers)
    assert verified.status_code == 200
    codes = verified.json()["recovery_codes"]
    assert len(codes) == 10

    login = "/api/v1/auth/login"
    no_code = api.client.post(login, json={"username": "ada", "password": PASSWORD})
    assert no_code.status_code == 401
    assert no_code.json()["type"] == "urn:devmatrix:problem:two-factor-required"
    # The verify above spent the current step; the next step is accepted (clock drift)...
    next_code = app_totp.at(time.time() + 30)
    api.login("ada", totp_code=next_code)
    # ...but never twice: a code seen over someone's shoulder cannot be replayed.
    replay = api.client.post(
        login, json={"username": "ada", "password": PASSWORD, "totp_code": next_code}
    )
    assert replay.status_code == 401
    api.login("ada", totp_code=codes[0])
    reused = api.client.post(
        login, json={"username": "ada", "password": PASSWORD, "totp_code": codes[0]}
    )
    assert reused.status_code == 401

    headers = bearer(api.login("ada", totp_code=codes[2])["access_token"])
    disable = "/api/v1/auth/2fa/disable"
    bad_password = {"password": "x" * 14, "code": app_totp.now()}
    assert api.client.post(disable, json=bad_password, headers=headers).status_code == 401
    off = api.client.post(disable, json={"password": PASSWORD, "code": codes[1]}, headers=headers)
    assert off.status_code == 204
    api.login("ada")
    with api.session() as session:
        user = session.exec(select(User)).one()
        kinds = [e.kind for e in session.exec(select(SecurityEvent)).all()]
    assert not user.totp_enabled
    assert user.totp_secret_encrypted is None
    assert user.recovery_code_hashes == []
    # codes[0] and codes[2] at login, codes[1] to disable: each recovery code use is reported.
    used = ["2fa_recovery_code_used"] * 3
    assert kinds == ["2fa_enabled", *used, "2fa_disabled"]


def test_personal_access_tokens_cannot_change_2fa(sqlite_api):
    api = sqlite_api
    api.register("ada")
    created = api.client.post(
        "/api/v1/auth/tokens",
        json={"name": "ci", "scopes": ["read", "write"]},
        headers=api.headers("ada"),
    ).json()
    answer = api.client.post("/api/v1/auth/2fa/enrol", headers=bearer(created["token"]))
    assert answer.status_code == 403


def test_one_recovery_code_wins_one_race(api):
    api.register("ada")
    headers = api.headers("ada")
    uri = api.client.post("/api/v1/auth/2fa/enrol", headers=headers).json()["otpauth_uri"]
    code = pyotp.parse_uri(uri).now()
    verified = api.client.post("/api/v1/auth/2fa/verify", json={"code": code}, headers=headers)
    recovery = verified.json()["recovery_codes"][0]
    barrier = threading.Barrier(4)

    def login(_: int) -> int:
        client = TestClient(api.app)
        barrier.wait()
        body = {"username": "ada", "password": PASSWORD, "totp_code": recovery}
        return client.post("/api/v1/auth/login", json=body).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(login, range(4)))
    assert statuses == [200, 401, 401, 401]
    with api.session() as session:
        assert len(session.exec(select(User)).one().recovery_code_hashes) == 9
