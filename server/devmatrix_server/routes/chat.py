"""/api/v1/conversations/{id}/messages (POST): one chat turn, classified by the model."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import col, select

from devmatrix.storage.models import Message, utcnow
from devmatrix_server.chat import reply_to
from devmatrix_server.deps import MemberAccess, ObjectId, SessionDep
from devmatrix_server.routes.conversations import message_public, open_conversation
from devmatrix_server.routes.usage import enforce_quota
from devmatrix_server.runs import run_registry
from devmatrix_server.schemas.conversations import ChatReply, ChatRequest

router = APIRouter(prefix="/api/v1/conversations", tags=["chat"])


@router.post("/{conversation_id}/messages", response_model=ChatReply, status_code=201)
def send_message(
    conversation_id: ObjectId,
    data: ChatRequest,
    request: Request,
    caller: MemberAccess,
    session: SessionDep,
) -> ChatReply:
    """Send a message: a question gets an answer, a build request becomes a draft plan."""
    conversation = open_conversation(session, conversation_id, caller, write=True)
    enforce_quota(session, caller)
    history = session.exec(
        select(Message).where(Message.conversation_id == conversation_id).order_by(col(Message.id))
    ).all()
    registry = run_registry(request.app.state)
    session.commit()  # the model call takes its own connections; do not hold one meanwhile
    intent, reply, plan_id = registry.call(
        reply_to(
            registry.client(),
            registry.engine,
            history,
            data.content,
            user_id=caller.user_id,
            team_id=caller.team_id,
        )
    )
    asked = Message(
        conversation_id=conversation_id, role="user", content=data.content, intent=intent
    )
    answered = Message(
        conversation_id=conversation_id,
        role="assistant",
        content=reply,
        intent=intent,
        plan_id=plan_id,
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
