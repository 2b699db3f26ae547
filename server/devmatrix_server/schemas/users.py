"""Users and teams as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig as ConfigDict

RoleName = Literal["admin", "user", "viewer"]
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,64}$"
# Deliberately loose: the address is only shown back; nothing is mailed to it.
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
# Printable text only: names are shown in editors and logs.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"


class UserBase(SQLModel):
    """What a person chooses about their own account."""

    username: str = Field(schema_extra={"pattern": USERNAME_PATTERN}, min_length=3, max_length=64)
    email: str = Field(schema_extra={"pattern": EMAIL_PATTERN}, max_length=254)


class UserCreate(UserBase):
    """Registration. With `invite_token` the account joins the inviting team with the invited role;
    without it, a new team is created (named `team_name`, default the username) and the new user is
    its admin. The very first account of an empty installation is always an admin."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "ada",
                    "email": "ada@example.com",
                    "password": "orbit velvet cactus lantern",
                    "team_name": "analytical-engines",
                }
            ]
        },
    )
    password: str = Field(min_length=1, max_length=1024)
    invite_token: str | None = Field(default=None, max_length=4096)
    team_name: str | None = Field(
        default=None, min_length=1, max_length=100, schema_extra={"pattern": NAME_PATTERN}
    )


class UserUpdateMe(SQLModel):
    """Changes a person may make to their own account; role and team are not among them."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "ada@lovelace.example"}]}
    )
    email: str | None = Field(default=None, schema_extra={"pattern": EMAIL_PATTERN}, max_length=254)


class PasswordChange(SQLModel):
    """A new password, confirmed with the current one; other sessions end."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "current_password": "orbit velvet cactus lantern",
                    "new_password": "quartz meadow bicycle thunder",
                }
            ]
        },
    )
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class UserAdminUpdate(SQLModel):
    """Changes an admin may make to a member of their team."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "viewer", "is_active": True}]}
    )
    role: RoleName | None = None
    is_active: bool | None = None


class UserPublic(UserBase):
    """A user as returned by the API (never the password hash or 2FA secrets)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "username": "ada",
                    "email": "ada@example.com",
                    "team_id": 1,
                    "role": "admin",
                    "is_active": True,
                    "totp_enabled": False,
                    "created_at": "2026-01-01T12:00:00Z",
                    "last_login_at": None,
                }
            ]
        }
    )
    id: int
    team_id: int
    role: RoleName
    is_active: bool
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None = None


class InviteCreate(SQLModel):
    """An admin invites someone into their team with a role."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "user", "expires_in_days": 7}]}
    )
    role: RoleName = "user"
    expires_in_days: int = Field(default=7, ge=1, le=30)


class InvitePublic(SQLModel):
    """A signed invite; pass `invite_token` to /auth/register."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invite_token": "eyJhbGciOi...",
                    "team_id": 1,
                    "role": "user",
                    "expires_at": "2026-01-08T12:00:00Z",
                }
            ]
        }
    )
    invite_token: str
    team_id: int
    role: RoleName
    expires_at: datetime
