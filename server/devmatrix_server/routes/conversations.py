"""/api/v1/conversations: a user's chats, shared read-only or writable with team members."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from devmatrix.errors import NotFoundError
from devmatrix.storage.models import Conversation, ConversationShare, Message, User
from devmatrix_server.chat import conversation_markdown
from devmatrix_server.deps import Caller, MemberAccess, ObjectId, SessionDep, get_in_team
from devmatrix_server.errors import InvalidInput
from devmatrix_server.pagination import Page, PageParams, paginate
from devmatrix_server.schemas.conversations import (
    ConversationCreate,
    ConversationPublic,
    MessagePublic,
    ShareCreate,
    SharePublic,
)

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])


def open_conversation(
    session: Session,
    conversation_id: int,
    caller: Caller,
    *,
    write: bool = False,
    own: bool = False,
) -> Conversation:
    """The conversation if the caller owns it or it is shared with them (writably for `write`);
    otherwise "not found"."""
    conversation = get_in_team(session, Conversation, conversation_id, caller, what="Conversation")
    if conversation.owner_id == caller.user_id:
        return conversation
    share = session.exec(
        select(ConversationShare).where(
            ConversationShare.conversation_id == conversation_id,
            ConversationShare.user_id == caller.user_id,
        )
    ).first()
    if own or share is None or (write and not share.can_write):
        raise NotFoundError(f"Conversation {conversation_id} does not exist.", "Check the id.")
    return conversation


def conversation_public(row: Conversation) -> ConversationPublic:
    """The API view of a conversation."""
    return ConversationPublic.model_validate(row, from_attributes=True)


def message_public(row: Message) -> MessagePublic:
    """The API view of a message."""
    return MessagePublic.model_validate(row, from_attributes=True)


@router.post("", response_model=ConversationPublic, status_code=status.HTTP_201_CREATED)
def create_conversation(
    data: ConversationCreate, caller: MemberAccess, session: SessionDep
) -> ConversationPublic:
    """Start a conversation owned by the caller."""
    row = Conversation(team_id=caller.team_id, owner_id=caller.user_id, title=data.title)
    session.add(row)
    session.commit()
    return conversation_public(row)


@router.get("", response_model=Page[ConversationPublic])
def list_conversations(
    caller: MemberAccess, session: SessionDep, page: PageParams
) -> Page[ConversationPublic]:
    """The caller's conversations and those shared with them."""
    shared = select(ConversationShare.conversation_id).where(
        ConversationShare.user_id == caller.user_id
    )
    statement = select(Conversation).where(
        Conversation.team_id == caller.team_id,
        or_(col(Conversation.owner_id) == caller.user_id, col(Conversation.id).in_(shared)),
    )
    return paginate(
        session, statement, key=Conversation.id, page=page, to_public=conversation_public
    )


@router.get("/{conversation_id}", response_model=ConversationPublic)
def read_conversation(
    conversation_id: ObjectId, caller: MemberAccess, session: SessionDep
) -> ConversationPublic:
    """One conversation's header."""
    return conversation_public(open_conversation(session, conversation_id, caller))


@router.get("/{conversation_id}/messages", response_model=Page[MessagePublic])
def list_messages(
    conversation_id: ObjectId, caller: MemberAccess, session: SessionDep, page: PageParams
) -> Page[MessagePublic]:
    """A conversation's messages, oldest first."""
    open_conversation(session, conversation_id, caller)
    statement = select(Message).where(Message.conversation_id == conversation_id)
    return paginate(session, statement, key=Message.id, page=page, to_public=message_public)


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_conversation(
    conversation_id: ObjectId, caller: MemberAccess, session: SessionDep
) -> Response:
    """Delete a conversation the caller owns, with its messages and shares."""
    conversation = open_conversation(session, conversation_id, caller, own=True)
    # Bulk deletes: the database may also cascade, and ORM row deletes would then miss rows.
    session.execute(delete(Message).where(col(Message.conversation_id) == conversation_id))
    session.execute(
        delete(ConversationShare).where(col(ConversationShare.conversation_id) == conversation_id)
    )
    session.delete(conversation)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{conversation_id}/shares", response_model=SharePublic, status_code=status.HTTP_201_CREATED
)
def share_conversation(
    conversation_id: ObjectId, data: ShareCreate, caller: MemberAccess, session: SessionDep
) -> SharePublic:
    """Share a conversation the caller owns with another member of their team."""
    open_conversation(session, conversation_id, caller, own=True)
    get_in_team(session, User, data.user_id, caller, what="User")
    if data.user_id == caller.user_id:
        raise InvalidInput("A conversation is always visible to its owner.", "Pick someone else.")
    share = session.exec(
        select(ConversationShare).where(
            ConversationShare.conversation_id == conversation_id,
            ConversationShare.user_id == data.user_id,
        )
    ).first() or ConversationShare(conversation_id=conversation_id, user_id=data.user_id)
    share.can_write = data.can_write
    session.add(share)
    session.commit()
    return SharePublic(
        conversation_id=conversation_id, user_id=data.user_id, can_write=data.can_write
    )


@router.get(
    "/{conversation_id}/export",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}},
)
def export_conversation(
    conversation_id: ObjectId, caller: MemberAccess, session: SessionDep
) -> Response:
    """The conversation as Markdown."""
    conversation = open_conversation(session, conversation_id, caller)
    messages = session.exec(
        select(Message).where(Message.conversation_id == conversation_id).order_by(col(Message.id))
    ).all()
    return Response(
        conversation_markdown(conversation, messages), media_type="text/markdown; charset=utf-8"
    )
