"""What it cost and who did what: usage records, quotas, the audit log, security events, and the
LLM response cache."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from devmatrix.storage.models.base import created_at_field, json_field, utcnow


class UsageRecord(SQLModel, table=True):
    """One model call: provider, model, tokens, latency and cost, attributed to a user and plan."""

    __tablename__ = "usage_record"
    __table_args__ = (
        Index("ix_usage_record_user_created", "user_id", "created_at"),
        Index("ix_usage_record_team_created", "team_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    user_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="SET NULL")
    plan_id: int | None = Field(
        default=None, foreign_key="masterplan.id", ondelete="SET NULL", index=True
    )
    provider: str = Field(max_length=32)
    model: str = Field(max_length=100)
    purpose: str = Field(default="", max_length=400)
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    cached: bool = False


class Quota(SQLModel, table=True):
    """Limits per user or per team over a period; checked before any model call."""

    __tablename__ = "quota"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="CASCADE", unique=True
    )
    team_id: int | None = Field(
        default=None, foreign_key="team.id", ondelete="CASCADE", unique=True
    )
    period: str = Field(default="month", max_length=16)
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_runs: int | None = None


class AuditLog(SQLModel, table=True):
    """Every write: who, what, when, from where, and the request's correlation id."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_team_created", "team_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="SET NULL")
    action: str = Field(max_length=64)
    resource_type: str = Field(default="", max_length=64)
    resource_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=512)
    correlation_id: str | None = Field(default=None, max_length=64, index=True)
    detail: dict[str, Any] = json_field(dict)


class SecurityEvent(SQLModel, table=True):
    """Failed-login bursts, lockouts, role changes, refresh-token reuse, 2FA changes."""

    __tablename__ = "security_event"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(max_length=48, index=True)
    severity: str = Field(default="warning", max_length=16)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    ip: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = json_field(dict)
    delivered_at: datetime | None = None


class LLMCacheEntry(SQLModel, table=True):
    """A model answer stored under the hash of everything that determined it."""

    __tablename__ = "llm_cache_entry"
    key: str = Field(primary_key=True, max_length=64)
    provider: str = Field(max_length=32)
    model: str = Field(max_length=100)
    response_json: str
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(index=True)
