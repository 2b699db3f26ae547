"""Password policy (12-128 characters, zxcvbn score at least 3) and argon2id hashing."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from devmatrix.config import Settings
from devmatrix_server.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3


def check_password_policy(password: str, *, user_inputs: Sequence[str] = ()) -> None:
    """Refuse a password that is too short, too long, or guessable (also from the user's own data)."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"The password is too short ({len(password)} characters).",
            f"Use at least {MIN_LENGTH} characters; a few unrelated words work well.",
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(
            f"The password is too long ({len(password)} characters).",
            f"Use at most {MAX_LENGTH} characters.",
        )
    verdict = zxcvbn(
        password, user_inputs=[part for part in user_inputs if part], max_length=MAX_LENGTH
    )
    if verdict["score"] < MIN_SCORE:
        advice = verdict["feedback"].get("warning") or "It is too easy to guess."
        raise InvalidInput(
            f"The password is too weak (strength {verdict['score']} of 4, need {MIN_SCORE}). {advice}",
            "Add more unrelated words or characters; avoid names, dates and your username.",
        )


@cache
def _hasher(profile: str) -> PasswordHasher:
    if profile == "fast":
        # Test suites only: a cheap hash keeps hundreds of logins fast.
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()  # argon2id with RFC 9106 "low memory" parameters


def password_hasher(settings: Settings) -> PasswordHasher:
    """The hasher for `settings`; the fast test profile is never used in production."""
    profile = "standard" if settings.env == "production" else settings.argon2_profile
    return _hasher(profile)


def hash_password(settings: Settings, password: str) -> str:
    """An argon2id hash of `password` (salted; parameters are stored in the hash)."""
    return password_hasher(settings).hash(password)


def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    """True when `password` matches `password_hash`; a malformed hash never matches."""
    try:
        return password_hasher(settings).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_verification_time(settings: Settings) -> None:
    """Spend one verification on a dummy hash so unknown usernames answer as slowly as known ones."""
    verify_password(settings, _dummy_hash(settings.env, settings.argon2_profile), "not-a-password")


@cache
def _dummy_hash(env: str, profile: str) -> str:
    return _hasher("standard" if env == "production" else profile).hash("dummy-password-x")
