"""Usage (tokens, cost, runs) over the current period and the quotas that bound it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class UsageSummary(BaseModel):
    """Use by one user or team since the period started; counts reset at `resets_at`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scope": "user",
                    "owner_id": 1,
                    "period_start": "2026-01-01T00:00:00Z",
                    "resets_at": "2026-02-01T00:00:00Z",
                    "calls": 12,
                    "tokens": 18000,
                    "cost_usd": 0.21,
                    "runs": 2,
                }
            ]
        }
    )
    scope: Literal["user", "team"]
    owner_id: int
    period_start: datetime
    resets_at: datetime
    calls: int
    tokens: int
    cost_usd: float
    runs: int


class QuotaPublic(BaseModel):
    """The limits of a user or a team per month (null: no limit)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scope": "team",
                    "owner_id": 1,
                    "period": "month",
                    "max_tokens": 2000000,
                    "max_cost_usd": 50.0,
                    "max_runs": 100,
                }
            ]
        }
    )
    scope: Literal["user", "team"]
    owner_id: int
    period: str
    max_tokens: int | None
    max_cost_usd: float | None
    max_runs: int | None


class QuotaSet(BaseModel):
    """New monthly limits for a member of the caller's team or the team itself (null: none)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"max_tokens": 2000000, "max_cost_usd": 50.0, "max_runs": 100}]
        },
    )
    max_tokens: int | None = Field(default=None, ge=0, le=2**62)
    max_cost_usd: float | None = Field(default=None, ge=0, le=1e9)
    max_runs: int | None = Field(default=None, ge=0, le=2**31 - 1)
