"""Plain data crossing the provider boundary: the request, the answer and its token usage."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Message(BaseModel):
    """One turn of the conversation sent to the model."""

    role: Literal["user", "assistant"]
    content: str


class LLMRequest(BaseModel):
    """Everything a provider needs for one call; `purpose` labels what the call is for."""

    messages: list[Message]
    system: str | None = None
    model: str | None = None
    max_tokens: int = 4096
    temperature: float = 0.0
    json_schema: dict[str, Any] | None = None
    purpose: str = "chat"
    cache_system: bool = True

    def last_user_message(self) -> str:
        """The content of the last user turn (empty when there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""


class Usage(BaseModel):
    """Tokens of one call. `input_tokens` excludes the tokens read from or written to the prompt cache."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


class LLMResponse(BaseModel):
    """The model's answer: its text (JSON text when a schema was asked for), usage and cost."""

    text: str
    usage: Usage = Field(default_factory=Usage)
    model: str
    provider: str
    stop_reason: str | None = None
    cached: bool = False
    cost_usd: float = 0.0
