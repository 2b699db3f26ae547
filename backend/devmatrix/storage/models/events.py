"""The event log: every engine event is stored with an increasing id, so a client that reconnects
with the last id it saw can be sent what it missed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from devmatrix.storage.models.base import created_at_field, json_field


class EventRecord(SQLModel, table=True):
    """One published event (plan created, atom started/validated/failed, review needed, ...)."""

    __tablename__ = "event_record"
    __table_args__ = (Index("ix_event_record_plan_id_id", "plan_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int | None = Field(default=None, foreign_key="masterplan.id", ondelete="CASCADE")
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE", index=True)
    type: str = Field(max_length=48)
    payload: dict[str, Any] = json_field(dict)
    created_at: datetime = created_at_field()
