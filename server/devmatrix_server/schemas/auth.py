"""Logins, token pairs, two-factor and personal access tokens as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig as ConfigDict

ScopeName = Literal["read", "write", "admin"]


class LoginRequest(SQLModel):
    """Username (or email) and password; `totp_code` (or a recovery code) when 2FA is on."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"username": "ada", "password": "orbit velvet cactus lantern"}]
        },
    )
    username: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(default=None, max_length=32)


class RefreshRequest(SQLModel):
    """A refresh token to spend for a new pair."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"refresh_token": "eyJhbGciOi..."}]}
    )
    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenPairPublic(SQLModel):
    """Access token (Bearer, short-lived) and refresh token (single use, rotates)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOi...",
                    "refresh_token": "eyJhbGciOi...",
                    "token_type": "bearer",
                    "expires_in": 3600,
                }
            ]
        }
    )
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int


class TotpEnrolment(SQLModel):
    """Scan the QR image (or enter the URI) in an authenticator app, then call /2fa/verify."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "otpauth_uri": "otpauth://totp/DevMatrix:ada?secret=JBSWY3DPEHPK3PXP&issuer=DevMatrix",
                    "qr_png_base64": "iVBORw0KGgo...",
                }
            ]
        }
    )
    otpauth_uri: str
    qr_png_base64: str


class TotpCode(SQLModel):
    """A 6-digit code from the authenticator app."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "123456"}]})
    code: str = Field(min_length=6, max_length=32)


class TotpDisable(SQLModel):
    """Turning 2FA off needs the password and a current code (or a recovery code)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"password": "orbit velvet cactus lantern", "code": "123456"}]
        },
    )
    password: str = Field(min_length=1, max_length=1024)
    code: str = Field(min_length=6, max_length=32)


class RecoveryCodes(SQLModel):
    """Shown once: each code replaces a TOTP code one time."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"recovery_codes": ["ABCD-EFGH-IJKL"]}]}
    )
    recovery_codes: list[str]


class ApiTokenBase(SQLModel):
    """What the owner chooses about a personal access token."""

    name: str = Field(min_length=1, max_length=100)
    scopes: list[ScopeName] = Field(default_factory=lambda: ["read"], min_length=1, max_length=3)


class ApiTokenCreate(ApiTokenBase):
    """A new token; `expires_in_days` null means it lasts until revoked."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "vscode", "scopes": ["read", "write"], "expires_in_days": 90}]
        },
    )
    expires_in_days: int | None = Field(default=90, ge=1, le=366)


class ApiTokenPublic(ApiTokenBase):
    """A token as listed (never the token itself)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "name": "vscode",
                    "scopes": ["read", "write"],
                    "token_prefix": "dmx_Q2hhbmdl",
                    "created_at": "2026-01-01T12:00:00Z",
                    "expires_at": "2026-04-01T12:00:00Z",
                    "revoked_at": None,
                    "last_used_at": None,
                }
            ]
        }
    )
    id: int
    token_prefix: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class ApiTokenCreated(ApiTokenPublic):
    """The new token, including the secret `token` shown only this once."""

    token: str
