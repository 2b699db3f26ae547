"""/api/v1/users: the caller's account and the members of their team; invites for admins."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, status
from sqlmodel import col, select

from devmatrix.storage.models import AuthSession, User
from devmatrix_server import accounts
from devmatrix_server.deps import (
    AdminUser,
    MemberAccess,
    ObjectId,
    SessionDep,
    SessionUser,
    SettingsDep,
    get_in_team,
)
from devmatrix_server.errors import AuthenticationFailed, Conflict
from devmatrix_server.pagination import Page, PageParams, paginate
from devmatrix_server.schemas.users import (
    InviteCreate,
    InvitePublic,
    PasswordChange,
    UserPublic,
    UserUpdateMe,
)
from devmatrix_server.security import passwords
from devmatrix_server.security.sessions import revoke_session

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", response_model=UserPublic)
def read_me(caller: MemberAccess, session: SessionDep) -> UserPublic:
    """The caller's own account."""
    return accounts.user_public(session, caller.user)


@router.patch("/me", response_model=UserPublic)
def update_me(data: UserUpdateMe, caller: MemberAccess, session: SessionDep) -> UserPublic:
    """Change the caller's own email (role and team are not changeable here)."""
    user = caller.user
    if data.email is not None and data.email.lower() != user.email:
        taken = session.exec(select(User.id).where(User.email == data.email.lower())).first()
        if taken is not None:
            raise Conflict("That email is already registered.", "Use another address.")
        user.email = data.email.lower()
        session.add(user)
        session.commit()
    return accounts.user_public(session, user)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(
    data: PasswordChange, caller: SessionUser, session: SessionDep, settings: SettingsDep
) -> None:
    """Change the caller's password (from a login session, also for viewers); other sessions end."""
    user = caller.user
    if not passwords.verify_password(settings, user.password_hash, data.current_password):
        raise AuthenticationFailed("The current password is wrong.", "Enter it again.")
    passwords.check_password_policy(data.new_password, user_inputs=[user.username, user.email])
    user.password_hash = passwords.hash_password(settings, data.new_password)
    session.add(user)
    session.commit()
    for auth in session.exec(
        select(AuthSession).where(
            AuthSession.user_id == caller.user_id, col(AuthSession.revoked_at).is_(None)
        )
    ).all():
        if auth.id != caller.session_id:
            revoke_session(session, auth, reason="password changed")


@router.get("", response_model=Page[UserPublic])
def list_members(caller: MemberAccess, session: SessionDep, page: PageParams) -> Page[UserPublic]:
    """Members of the caller's team."""
    statement = select(User).where(User.team_id == caller.team_id)
    return paginate(
        session,
        statement,
        key=User.id,
        page=page,
        to_public=partial(accounts.user_public, session),
    )


@router.get("/{user_id}", response_model=UserPublic)
def read_member(user_id: ObjectId, caller: MemberAccess, session: SessionDep) -> UserPublic:
    """One member of the caller's team (users of other teams are not found)."""
    return accounts.user_public(session, get_in_team(session, User, user_id, caller, what="User"))


@router.post("/invites", response_model=InvitePublic, status_code=status.HTTP_201_CREATED)
def create_invite(data: InviteCreate, caller: AdminUser, settings: SettingsDep) -> InvitePublic:
    """An invite into the caller's team; the invitee passes it to /api/v1/auth/register."""
    return accounts.create_invite(settings, caller.user, role=data.role, days=data.expires_in_days)
