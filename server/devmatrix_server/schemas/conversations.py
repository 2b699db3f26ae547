"""Conversations, their messages, shares and chat turns as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

TEXT_PATTERN = r"^[^\x00]*$"  # PostgreSQL refuses NUL characters in text
MESSAGE_EXAMPLE: dict[str, JsonValue] = {
    "id": 3,
    "conversation_id": 1,
    "role": "user",
    "content": "What does the review queue hold?",
    "intent": "question",
    "plan_id": None,
    "created_at": "2026-01-01T12:00:00Z",
}


class ConversationCreate(BaseModel):
    """A new conversation of the caller."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "todo"}]})
    title: str = Field(default="", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")


class ConversationPublic(BaseModel):
    """A conversation without its messages."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "team_id": 1,
                    "owner_id": 1,
                    "title": "todo",
                    "created_at": "2026-01-01T12:00:00Z",
                    "updated_at": "2026-01-01T12:00:00Z",
                }
            ]
        }
    )
    id: int
    team_id: int
    owner_id: int | None
    title: str
    created_at: datetime
    updated_at: datetime


class MessagePublic(BaseModel):
    """One turn; `plan_id` is set when a build request became a plan."""

    model_config = ConfigDict(json_schema_extra={"examples": [MESSAGE_EXAMPLE]})
    id: int
    conversation_id: int
    role: str
    content: str
    intent: str | None
    plan_id: int | None
    created_at: datetime


class ShareCreate(BaseModel):
    """Share a conversation with another member of the caller's team."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"user_id": 2, "can_write": False}]}
    )
    user_id: int = Field(ge=1, le=2**31 - 1)
    can_write: bool = False


class SharePublic(BaseModel):
    """Who a conversation is shared with."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"conversation_id": 1, "user_id": 2, "can_write": False}]}
    )
    conversation_id: int
    user_id: int
    can_write: bool


class ChatRequest(BaseModel):
    """A message to the assistant: a question is answered; a build request becomes a plan."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"content": "What does the review queue hold?"}]},
    )
    content: str = Field(min_length=1, max_length=50_000, pattern=TEXT_PATTERN)


class ChatReply(BaseModel):
    """The classified intent, the stored user message and the assistant's answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "intent": "question",
                    "message": MESSAGE_EXAMPLE,
                    "reply": {**MESSAGE_EXAMPLE, "id": 4, "role": "assistant"},
                    "plan_id": None,
                }
            ]
        }
    )
    intent: Literal["question", "build"]
    message: MessagePublic
    reply: MessagePublic
    plan_id: int | None = None
