"""Chat: classify a message (question or build request), answer questions, export Markdown.

The intent is asked of a small model call with a JSON schema (purpose "intent"); a question is
answered with the conversation so far (purpose "chat"). Callers that stream the turn pass
`on_intent` and `on_text`: the intent as soon as it is known, then the answer's text as the
model writes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Literal

from sqlalchemy import Engine

from devmatrix.llm.client import LLMClient
from devmatrix.llm.errors import MalformedAnswer
from devmatrix.llm.provider import TextSink
from devmatrix.llm.types import LLMRequest
from devmatrix.llm.types import Message as LLMMessage
from devmatrix.planning.pipeline import plan_from_spec
from devmatrix.storage.models import Conversation, Message

Intent = Literal["question", "build"]
HISTORY_TURNS = 20
INTENT_SCHEMA = {
    "type": "object",
    "properties": {"intent": {"type": "string", "enum": ["question", "build"]}},
    "required": ["intent"],
    "additionalProperties": False,
}
INTENT_SYSTEM = (
    "Classify the user's message for a code generation assistant. Answer with JSON "
    '{"intent": "build"} when the user asks for software to be written (a spec or a build '
    'request), otherwise {"intent": "question"}.'
)
CHAT_SYSTEM = (
    "You are DevMatrix, an assistant that plans and generates validated code. Answer the "
    "user's question briefly and precisely."
)


async def classify_intent(client: LLMClient, text: str, *, user_id: int | None) -> Intent:
    """ "build" when `text` asks for software to be written, else "question"."""
    answer = await client.complete(
        LLMRequest(
            messages=[LLMMessage(role="user", content=text)],
            system=INTENT_SYSTEM,
            max_tokens=32,
            json_schema=INTENT_SCHEMA,
            purpose="intent",
        ),
        user_id=user_id,
    )
    try:
        intent = json.loads(answer.text)["intent"]
    except (ValueError, KeyError, TypeError):
        raise MalformedAnswer(
            f"The intent classifier answered {answer.text[:200]!r}, not the JSON asked for.",
            "Retry the message; if it keeps failing, check the model configuration.",
        ) from None
    return "build" if intent == "build" else "question"


def history_turns(messages: Sequence[Message]) -> list[LLMMessage]:
    """The last turns of a conversation as model messages, detached from the database session."""
    return [
        LLMMessage(role="assistant" if m.role == "assistant" else "user", content=m.content)
        for m in list(messages)[-HISTORY_TURNS:]
    ]


async def answer_question(
    client: LLMClient,
    history: Sequence[LLMMessage],
    text: str,
    *,
    user_id: int | None,
    on_text: TextSink | None = None,
) -> str:
    """The model's answer to `text`, given the last turns of the conversation."""
    answer = await client.complete(
        LLMRequest(
            messages=[*history, LLMMessage(role="user", content=text)],
            system=CHAT_SYSTEM,
            max_tokens=2048,
            purpose="chat",
        ),
        user_id=user_id,
        on_text=on_text,
    )
    return answer.text


def conversation_markdown(conversation: Conversation, messages: Sequence[Message]) -> str:
    """The conversation as a Markdown document: title, then each turn under its speaker."""
    lines = [f"# {conversation.title or f'Conversation {conversation.id}'}", ""]
    for message in messages:
        who = "You" if message.role == "user" else "DevMatrix"
        stamp = message.created_at.strftime("%Y-%m-%d %H:%M UTC")
        lines += [f"## {who} ({stamp})", ""]
        if message.plan_id is not None:
            lines += [f"_Plan {message.plan_id}_", ""]
        lines += [message.content.rstrip(), ""]
    return "\n".join(lines)


async def reply_to(
    client: LLMClient,
    engine: Engine,
    history: Sequence[LLMMessage],
    text: str,
    *,
    user_id: int,
    team_id: int,
    on_intent: Callable[[Intent], None] | None = None,
    on_text: TextSink | None = None,
) -> tuple[Intent, str, int | None]:
    """Classify `text` and act on it: (intent, the assistant's reply, the new plan's id).

    `on_text` sees a question's answer as it is written; a build request's reply is a sentence
    naming the new plan, and is not streamed."""
    intent = await classify_intent(client, text, user_id=user_id)
    if on_intent is not None:
        on_intent(intent)
    if intent == "question":
        answer = await answer_question(client, history, text, user_id=user_id, on_text=on_text)
        return intent, answer, None
    result = await plan_from_spec(client, engine, text, owner_id=user_id, team_id=team_id)
    reply = (
        f"Plan {result.plan_id} is drafted with {result.atom_count} atoms. Review it, edit its "
        "tasks if needed, and approve it to start generating."
    )
    return intent, reply, result.plan_id
