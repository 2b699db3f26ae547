"""Signed tokens (PyJWT): one algorithm pinned, every registered claim required, headers checked.

Before a signature is even looked at, the header must name exactly our algorithm and key id and
carry no `crit` extensions; this refuses `alg: none` in any spelling and HS/RS key confusion.
"""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt as pyjwt

from devmatrix.config import Settings
from devmatrix.storage.models import utcnow
from devmatrix_server.errors import AuthenticationFailed

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti")
TokenType = Literal["access", "refresh", "invite"]
# Distinct tokens whose verification is remembered (a few hundred bytes each).
VERIFIED_CACHE_SIZE = 4096


# Secret and key id per configuration; the development secret lives in a file read once.
_KEYS: dict[tuple[str, str], tuple[str, str]] = {}


def _signing_key(settings: Settings) -> tuple[str, str]:
    configured = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
    cache_key = (configured, str(settings.data_dir))
    if cache_key not in _KEYS:
        secret = settings.jwt_signing_secret()
        _KEYS[cache_key] = (secret, hashlib.sha256(secret.encode()).hexdigest()[:16])
    return _KEYS[cache_key]


def key_id(settings: Settings) -> str:
    """A short public fingerprint of the signing secret, sent as `kid` so rotation can be detected."""
    return _signing_key(settings)[1]


def issue_token(
    settings: Settings,
    *,
    subject: str,
    purpose: TokenType,
    lifetime: timedelta,
    claims: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """Sign a token for `purpose` about `subject`; returns the token and its claims."""
    issued = now or utcnow()
    payload: dict[str, Any] = {
        **(claims or {}),
        "sub": subject,
        "typ": purpose,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    secret, kid = _signing_key(settings)
    token = pyjwt.encode(
        payload,
        secret,
        algorithm=ALGORITHM,
        headers={"kid": kid},
    )
    return token, payload


def decode_token(settings: Settings, token: str, *, purpose: TokenType) -> dict[str, Any]:
    """Verify `token` and return its claims; any defect raises `AuthenticationFailed`."""
    secret, kid = _signing_key(settings)
    claims = _verified_claims(token, secret, kid, settings.jwt_audience, settings.jwt_issuer)
    # The signature check is cached, so the expiry is checked here, on every use (as PyJWT does).
    if int(claims["exp"]) <= time.time():
        raise _refused("it has expired", "Refresh it or log in again.")
    if claims.get("typ") != purpose:
        raise _refused(f"its type is {claims.get('typ')!r}, expected {purpose!r}")
    return dict(claims)


@functools.lru_cache(maxsize=VERIFIED_CACHE_SIZE)
def _verified_claims(
    token: str, secret: str, kid: str, audience: str, issuer: str
) -> dict[str, Any]:
    """Header checks and signature verification of one token, remembered per token and key.

    Every authenticated request verifies its Bearer token; verifying the same bytes with the same
    key always gives the same answer, so a client's token is verified once, not per request (it
    was a tenth of the CPU of a GET). Only successes are cached: a refused token raises again.
    """
    try:
        header = pyjwt.get_unverified_header(token)
    except pyjwt.InvalidTokenError:
        raise _refused("it is not a well-formed JWT") from None
    if header.get("alg") != ALGORITHM:
        raise _refused(f"its algorithm must be {ALGORITHM}")
    if header.get("kid") != kid:
        raise _refused("it was signed with an unknown key")
    if "crit" in header:
        raise _refused("it asks for header extensions this server does not support")
    try:
        claims: dict[str, Any] = pyjwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except pyjwt.ExpiredSignatureError:
        raise _refused("it has expired", "Refresh it or log in again.") from None
    except pyjwt.InvalidTokenError as exc:
        raise _refused(f"it is invalid ({exc})") from None
    return claims


def _refused(reason: str, hint: str | None = None) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"The token was refused: {reason}.", hint or "Log in again to get a new token."
    )
