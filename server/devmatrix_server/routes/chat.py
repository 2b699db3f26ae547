"""/api/v1/conversations/{id}/messages (POST): one chat turn, classified by the model.

Answered whole (201 + the turn), or, when the request accepts `text/event-stream`, as
Server-Sent Events while the model writes: `intent`, then `delta`s of a question's answer, then
`done` with the same body as the whole answer, or `error` with a problem detail. Everything
that can be refused (access, quota, input) is refused before the stream starts, as a plain
problem response. The turn runs on the run loop either way and is saved when the model is done,
even if the client has gone away meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from devmatrix.errors import NotFoundError
from devmatrix.llm.client import LLMClient
from devmatrix.llm.provider import TextSink
from devmatrix.llm.types import Message as LLMMessage
from devmatrix.storage.models import Conversation, Message, utcnow
from devmatrix_server.chat import Intent, history_turns, reply_to
from devmatrix_server.deps import MemberAccess, ObjectId, SessionDep
from devmatrix_server.errors import ServerStopping
from devmatrix_server.problems import problem_for_error
from devmatrix_server.routes.conversations import message_public, open_conversation
from devmatrix_server.routes.usage import enforce_quota
from devmatrix_server.runs import run_registry
from devmatrix_server.schemas.conversations import ChatReply, ChatRequest
from devmatrix_server.streams import EVENT_STREAM, STREAM_HEADERS, EventStream, wants_event_stream

router = APIRouter(prefix="/api/v1/conversations", tags=["chat"])

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "With `Accept: text/event-stream`: Server-Sent Events `intent` "
            '({"intent": …}), `delta` ({"text": …}, pieces of a question\'s answer), then '
            "`done` (the ChatReply) or `error` (a problem detail); `:` lines are keep-alives."
        ),
        "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/{conversation_id}/messages", response_model=ChatReply, status_code=201, responses=STREAM_DOC
)
def send_message(
    conversation_id: ObjectId,
    data: ChatRequest,
    request: Request,
    caller: MemberAccess,
    session: SessionDep,
) -> ChatReply | StreamingResponse:
    """Send a message: a question gets an answer, a build request becomes a draft plan."""
    open_conversation(session, conversation_id, caller, write=True)
    enforce_quota(session, caller)
    history = history_turns(
        session.exec(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(col(Message.id))
        ).all()
    )
    registry = run_registry(request.app.state)
    session.commit()  # the model call takes its own connections; do not hold one meanwhile
    turn = ChatTurn(
        registry.client(),
        registry.engine,
        conversation_id,
        data.content,
        user_id=caller.user_id,
        team_id=caller.team_id,
    )
    if not wants_event_stream(request.headers.get("accept")):
        return registry.call(turn.take(history))
    stream = EventStream()
    future: Future[ChatReply] = registry.submit(
        turn.take(
            history,
            on_intent=lambda intent: stream.emit("intent", {"intent": intent}),
            on_text=lambda piece: stream.emit("delta", {"text": piece}),
        )
    )
    future.add_done_callback(lambda done: _finish(stream, done, request.url.path))
    return StreamingResponse(stream.frames(), media_type=EVENT_STREAM, headers=STREAM_HEADERS)


@dataclass(frozen=True)
class ChatTurn:
    """One message and the model's reply to it, saved together once the reply is complete."""

    client: LLMClient
    engine: Engine
    conversation_id: int
    content: str
    user_id: int
    team_id: int

    async def take(
        self,
        history: list[LLMMessage],
        *,
        on_intent: Callable[[Intent], None] | None = None,
        on_text: TextSink | None = None,
    ) -> ChatReply:
        """Ask the model, then save the message and the reply (nothing is saved on failure)."""
        intent, reply, plan_id = await reply_to(
            self.client,
            self.engine,
            history,
            self.content,
            user_id=self.user_id,
            team_id=self.team_id,
            on_intent=on_intent,
            on_text=on_text,
        )
        return await asyncio.to_thread(self.save, intent, reply, plan_id)

    def save(self, intent: Intent, reply: str, plan_id: int | None) -> ChatReply:
        """Write both messages and touch the conversation in one transaction."""
        with Session(self.engine) as session:
            asked = Message(
                conversation_id=self.conversation_id,
                role="user",
                content=self.content,
                intent=intent,
            )
            answered = Message(
                conversation_id=self.conversation_id,
                role="assistant",
                content=reply,
                intent=intent,
                plan_id=plan_id,
            )
            conversation = session.get(Conversation, self.conversation_id)
            if conversation is None:
                raise NotFoundError(
                    f"Conversation {self.conversation_id} was deleted while the model answered; "
                    "the reply was not saved.",
                    "Start a new conversation and send the message again.",
                )
            conversation.updated_at = utcnow()
            session.add_all([asked, answered, conversation])
            session.commit()
            return ChatReply(
                intent=intent,
                message=message_public(asked),
                reply=message_public(answered),
                plan_id=plan_id,
            )


def _finish(stream: EventStream, done: Future[ChatReply], instance: str) -> None:
    """End the stream with `done` and the turn, or `error` and a problem detail."""
    error = (
        ServerStopping(
            "The server stopped before the model answered; nothing was saved.",
            "Send the message again.",
        )
        if done.cancelled()
        else done.exception()
    )
    if error is None:
        stream.emit("done", done.result().model_dump(mode="json"))
    else:
        stream.emit("error", problem_for_error(error, instance))
    stream.close()
