"""/api/v1/admin/users: team admins list, change (role, active) and delete their team's members."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from devmatrix.storage.models import SecurityEvent, User
from devmatrix_server import accounts
from devmatrix_server.deps import AdminUser, Caller, ObjectId, SessionDep, get_in_team
from devmatrix_server.errors import Conflict
from devmatrix_server.pagination import Page, PageParams, paginate
from devmatrix_server.routes.auth import client_ip
from devmatrix_server.schemas.users import UserAdminUpdate, UserPublic
from devmatrix_server.security.sessions import revoke_user_sessions

router = APIRouter(prefix="/api/v1/admin/users", tags=["admin"])


@router.get("", response_model=Page[UserPublic])
def list_users(caller: AdminUser, session: SessionDep, page: PageParams) -> Page[UserPublic]:
    """All members of the admin's team, inactive ones included."""
    statement = select(User).where(User.team_id == caller.team_id)
    return paginate(
        session, statement, key=User.id, page=page, to_public=partial(accounts.user_public, session)
    )


@router.get("/{user_id}", response_model=UserPublic)
def read_user(user_id: ObjectId, caller: AdminUser, session: SessionDep) -> UserPublic:
    """One member of the admin's team."""
    return accounts.user_public(session, get_in_team(session, User, user_id, caller, what="User"))


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(
    user_id: ObjectId,
    data: UserAdminUpdate,
    request: Request,
    caller: AdminUser,
    session: SessionDep,
) -> UserPublic:
    """Change a member's role or active flag; deactivation ends their sessions."""
    user = get_in_team(session, User, user_id, caller, what="User")
    _refuse_self(caller, user, "change your own role or active flag")
    if data.role is not None and data.role != accounts.role_name(session, user):
        session.add(
            SecurityEvent(
                kind="role_changed",
                severity="warning",
                user_id=user.id,
                ip=client_ip(request),
                detail={
                    "by": caller.user_id,
                    "from": accounts.role_name(session, user),
                    "to": data.role,
                },
            )
        )
        user.role_id = accounts.role_id(session, data.role)
    if data.is_active is not None:
        user.is_active = data.is_active
    session.add(user)
    session.commit()
    if data.is_active is False:
        revoke_user_sessions(session, user_id, reason="deactivated by admin")
    return accounts.user_public(session, user)


@router.delete("/{user_id}/2fa", status_code=status.HTTP_204_NO_CONTENT)
def reset_two_factor(
    user_id: ObjectId, request: Request, caller: AdminUser, session: SessionDep
) -> None:
    """Turn a member's 2FA off (lost phone and recovery codes); they can enrol again after login."""
    user = get_in_team(session, User, user_id, caller, what="User")
    user.totp_enabled = False
    user.totp_secret_encrypted = None
    user.recovery_code_hashes = []
    session.add(user)
    session.add(
        SecurityEvent(
            kind="2fa_disabled",
            severity="warning",
            user_id=user.id,
            ip=client_ip(request),
            detail={"by": caller.user_id},
        )
    )
    session.commit()


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: ObjectId, caller: AdminUser, session: SessionDep) -> None:
    """Delete a member; refused while things they own still refer to them (deactivate instead)."""
    user = get_in_team(session, User, user_id, caller, what="User")
    _refuse_self(caller, user, "delete yourself")
    session.delete(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"User {user_id} still owns data that refers to them.",
            "Deactivate the account instead (PATCH with is_active false).",
        ) from None


def _refuse_self(caller: Caller, user: User, action: str) -> None:
    if user.id == caller.user_id:
        raise Conflict(f"Admins cannot {action}.", "Ask another admin of your team.")
