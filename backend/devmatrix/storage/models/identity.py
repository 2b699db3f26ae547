"""Who: teams, roles, users, sessions, refresh tokens and personal access tokens."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from devmatrix.storage.models.base import created_at_field, json_field


class Team(SQLModel, table=True):
    """Every resource belongs to a team; users see only their team's resources."""

    __tablename__ = "team"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    created_at: datetime = created_at_field()


class Role(SQLModel, table=True):
    """admin, user or viewer (viewer is read-only)."""

    __tablename__ = "role"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=32, unique=True)
    description: str = ""


class User(SQLModel, table=True):
    """A person with a login, a team and a role."""

    __tablename__ = "user_account"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str
    team_id: int = Field(foreign_key="team.id", ondelete="RESTRICT", index=True)
    role_id: int = Field(foreign_key="role.id", ondelete="RESTRICT")
    is_active: bool = True
    failed_logins: int = 0
    lockout_count: int = 0
    locked_until: datetime | None = None
    totp_secret_encrypted: str | None = None
    totp_enabled: bool = False
    recovery_code_hashes: list[str] = json_field(list)
    created_at: datetime = created_at_field()
    last_login_at: datetime | None = None


class AuthSession(SQLModel, table=True):
    """One login: refresh tokens of one family hang off it; idle and absolute timeouts apply."""

    __tablename__ = "auth_session"
    id: str = Field(primary_key=True, max_length=36)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    created_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=512)


class RefreshToken(SQLModel, table=True):
    """A refresh token by its `jti`; a second use of a used token revokes the whole session."""

    __tablename__ = "refresh_token"
    jti: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(foreign_key="auth_session.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    issued_at: datetime = created_at_field()
    expires_at: datetime
    used_at: datetime | None = None


class ApiToken(SQLModel, table=True):
    """A personal access token for editors and scripts: scoped, expiring, revocable, stored hashed."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    token_prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=128, unique=True)
    scopes: list[str] = json_field(list)
    created_at: datetime = created_at_field()
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
