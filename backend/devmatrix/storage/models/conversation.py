"""Chat: conversations, their messages and who they are shared with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from devmatrix.storage.models.base import created_at_field


class Conversation(SQLModel, table=True):
    """A chat session owned by a user inside a team."""

    __tablename__ = "conversation"
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    owner_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL", index=True
    )
    title: str = Field(default="", max_length=200)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class Message(SQLModel, table=True):
    """One turn of a conversation; a build request links to the plan it became."""

    __tablename__ = "message"
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=16)
    content: str
    intent: str | None = Field(default=None, max_length=16)
    plan_id: int | None = Field(default=None, foreign_key="masterplan.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class ConversationShare(SQLModel, table=True):
    """A conversation shared with another member of the same team."""

    __tablename__ = "conversation_share"
    __table_args__ = (UniqueConstraint("conversation_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    can_write: bool = False
    created_at: datetime = created_at_field()
