"""TOTP two-factor (pyotp): enrolment with an otpauth URI and QR image, verification, recovery codes.

The TOTP secret is stored encrypted (Fernet, key derived from the JWT secret with HKDF); recovery
codes are stored as keyed HMACs, so a copy of the database alone reveals neither.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import qrcode  # type: ignore[import-untyped]
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from devmatrix.config import Settings
from devmatrix_server.errors import Conflict

RECOVERY_CODE_COUNT = 10
ISSUER_NAME = "DevMatrix"


@dataclass(frozen=True)
class Enrolment:
    """A fresh TOTP secret: encrypted for storage, and the URI / QR image for the authenticator app."""

    secret_encrypted: str
    otpauth_uri: str
    qr_png_base64: str


def _derive_key(settings: Settings, purpose: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"devmatrix-2fa", info=purpose)
    return hkdf.derive(settings.jwt_signing_secret().encode())


def _fernet(settings: Settings) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive_key(settings, b"totp-secret-v1")))


def enrol(settings: Settings, account_name: str) -> Enrolment:
    """Create a TOTP secret for `account_name` (shown in the authenticator app)."""
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER_NAME)
    image = qrcode.make(uri)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Enrolment(
        secret_encrypted=seal(settings, secret, last_step=0),
        otpauth_uri=uri,
        qr_png_base64=base64.b64encode(buffer.getvalue()).decode(),
    )


def seal(settings: Settings, secret: str, *, last_step: int) -> str:
    """Encrypt the secret together with the last time step accepted (codes work once)."""
    payload = json.dumps({"secret": secret, "last_step": last_step})
    return _fernet(settings).encrypt(payload.encode()).decode()


def _unseal(settings: Settings, secret_encrypted: str) -> tuple[str, int]:
    try:
        payload = json.loads(_fernet(settings).decrypt(secret_encrypted.encode()))
    except InvalidToken:
        raise Conflict(
            "The stored two-factor secret cannot be decrypted with the current server secret.",
            "A team admin can reset it (DELETE /api/v1/admin/users/{id}/2fa); then enrol again.",
        ) from None
    return str(payload["secret"]), int(payload["last_step"])


def decrypt_secret(settings: Settings, secret_encrypted: str) -> str:
    """The plain TOTP secret; fails clearly when the JWT secret changed since enrolment."""
    return _unseal(settings, secret_encrypted)[0]


def accept_code(settings: Settings, secret_encrypted: str, code: str) -> str | None:
    """For a valid, not yet used code: the sealed secret advanced past its step; else None.

    One 30 s step of clock drift is allowed either way; a code (or an older one) never works twice.
    """
    digits = code.strip().replace(" ", "")
    if len(digits) != 6 or not digits.isdigit():
        return None
    secret, last_step = _unseal(settings, secret_encrypted)
    generator = pyotp.TOTP(secret)
    now = generator.timecode(datetime.now(UTC))
    for step in (now - 1, now, now + 1):
        if step > last_step and hmac.compare_digest(generator.generate_otp(step), digits):
            return seal(settings, secret, last_step=step)
    return None


def verify_code(settings: Settings, secret_encrypted: str, code: str) -> bool:
    """True when `code` is a current code not used before (see `accept_code`)."""
    return accept_code(settings, secret_encrypted, code) is not None


def new_recovery_codes(settings: Settings) -> tuple[list[str], list[str]]:
    """Ten one-time recovery codes: the plain codes to show once, and their keyed hashes to store."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(10)).decode()[:12]
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes, [recovery_code_hash(settings, code) for code in codes]


def recovery_code_hash(settings: Settings, code: str) -> str:
    """Keyed hash of a recovery code, insensitive to case, spaces and dashes."""
    normal = code.upper().replace("-", "").replace(" ", "")
    key = _derive_key(settings, b"recovery-code-v1")
    return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()


def consume_recovery_code(settings: Settings, stored: list[str], code: str) -> list[str] | None:
    """The stored hashes without `code`'s when it is one of them (codes work once), else None."""
    digest = recovery_code_hash(settings, code)
    for index, candidate in enumerate(stored):
        if hmac.compare_digest(candidate, digest):
            return stored[:index] + stored[index + 1 :]
    return None
