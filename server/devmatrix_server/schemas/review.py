"""Review items and the three ways to close one."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

TEXT_PATTERN = r"^[^\x00]*$"


class ReviewItemPublic(BaseModel):
    """An atom waiting for a person, with the proposed code, diff and validator output."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "plan_id": 4,
                    "atom_id": 3,
                    "status": "open",
                    "reason": "confidence 0.55 below 0.70",
                    "confidence": 0.55,
                    "proposed_code": "def mul(a, b):\n    return a * b\n",
                    "previous_code": "",
                    "diff": "+def mul(a, b):\n+    return a * b\n",
                    "validator_output": "",
                    "resolution_note": None,
                    "resolved_by": None,
                    "created_at": "2026-01-01T12:07:00Z",
                    "resolved_at": None,
                }
            ]
        }
    )
    id: int
    plan_id: int
    atom_id: int
    status: str
    reason: str
    confidence: float
    proposed_code: str
    previous_code: str
    diff: str
    validator_output: str
    resolution_note: str | None
    resolved_by: int | None
    created_at: datetime
    resolved_at: datetime | None


class ReviewReject(BaseModel):
    """Why the code is wrong; the model gets the reason for its next attempt."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "mul must not use *"}]}
    )
    reason: str = Field(min_length=1, max_length=5_000, pattern=r"^[^\x00]*\S[^\x00]*$")


class ReviewEdit(BaseModel):
    """A person's code for the atom; it is validated on the next run."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"code": "def mul(a: int, b: int) -> int:\n    return a * b\n"}]
        },
    )
    code: str = Field(min_length=1, max_length=50_000, pattern=TEXT_PATTERN)
