"""Teams, roles and user accounts: seeding, registration, invites and login.

Registration rule: the first account of an empty installation becomes admin of a new team. Later
accounts either join a team with an invite (signed, expiring, reusable until it expires) made by
that team's admin, or create their own team and become its admin. Admins manage their team only.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import String, cast, func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, or_, select

from devmatrix.config import Settings
from devmatrix.errors import NotFoundError
from devmatrix.storage.models import Role, SecurityEvent, Team, User, utcnow
from devmatrix_server.errors import AuthenticationFailed, Conflict, TwoFactorRequired
from devmatrix_server.schemas.auth import LoginRequest
from devmatrix_server.schemas.users import InvitePublic, RoleName, UserCreate, UserPublic
from devmatrix_server.security import lockout, passwords, totp
from devmatrix_server.security.jwt import decode_token, issue_token
from devmatrix_server.security.sessions import TokenPair, start_session

ROLES: dict[str, str] = {
    "admin": "Manages the team's members and everything the team owns.",
    "user": "Creates and runs plans, chats, reviews.",
    "viewer": "Reads everything in the team, changes nothing.",
}


def seed_roles(session: Session) -> None:
    """Make sure the three roles exist (idempotent)."""
    existing = set(session.exec(select(Role.name)).all())
    for name, description in ROLES.items():
        if name not in existing:
            session.add(Role(name=name, description=description))
    session.commit()


def role_id(session: Session, name: str) -> int:
    """The id of role `name` (roles are seeded at start-up)."""
    role = session.exec(select(Role).where(Role.name == name)).one()
    assert role.id is not None
    return role.id


def role_name(session: Session, user: User) -> RoleName:
    """The name of `user`'s role."""
    role = session.get(Role, user.role_id)
    if role is None or role.name not in ROLES:
        raise NotFoundError(f"User {user.id} has no known role.")
    return role.name  # type: ignore[return-value]


def user_public(session: Session, user: User) -> UserPublic:
    """The API view of `user`."""
    return UserPublic.model_validate(user, update={"role": role_name(session, user)})


def register(session: Session, settings: Settings, data: UserCreate) -> User:
    """Create an account per the registration rule above; commits."""
    _ensure_unused(session, data.username, data.email)
    passwords.check_password_policy(
        data.password, user_inputs=[data.username, data.email, data.team_name or ""]
    )
    if data.invite_token:
        team, role = _team_from_invite(session, settings, data.invite_token)
    else:
        team = _new_team(session, data.team_name or data.username)
        role = "admin"
    user = User(
        username=data.username,
        email=data.email.lower(),
        password_hash=passwords.hash_password(settings, data.password),
        team_id=team.id or 0,
        role_id=role_id(session, role),
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def _ensure_unused(session: Session, username: str, email: str) -> None:
    taken = session.exec(
        select(User.id).where(
            or_(func.lower(User.username) == username.lower(), User.email == email.lower())
        )
    ).first()
    if taken is not None:
        raise Conflict(
            "That username or email is already registered.", "Pick another or log in instead."
        )


def _new_team(session: Session, name: str) -> Team:
    if session.exec(select(Team.id).where(Team.name == name)).first() is not None:
        raise Conflict(f"A team named {name!r} already exists.", "Choose another `team_name`.")
    team = Team(name=name)
    session.add(team)
    session.flush()
    return team


def _team_from_invite(session: Session, settings: Settings, invite: str) -> tuple[Team, str]:
    claims = decode_token(settings, invite, purpose="invite")
    team = session.get(Team, claims.get("team_id"))
    role = claims.get("role")
    if team is None or role not in ROLES:
        raise AuthenticationFailed("The invite is for a team that no longer exists.")
    return team, str(role)


def create_invite(settings: Settings, admin: User, *, role: RoleName, days: int) -> InvitePublic:
    """A signed invite into `admin`'s team with `role`, valid for `days`."""
    now = utcnow()
    token, _ = issue_token(
        settings,
        subject=str(admin.id),
        purpose="invite",
        lifetime=timedelta(days=days),
        claims={"team_id": admin.team_id, "role": role},
        now=now,
    )
    return InvitePublic(
        invite_token=token, team_id=admin.team_id, role=role, expires_at=now + timedelta(days=days)
    )


def login(
    session: Session,
    settings: Settings,
    data: LoginRequest,
    *,
    ip: str | None,
    user_agent: str | None,
) -> TokenPair:
    """Check password (and 2FA), apply lockout, and open a session. Wrong credentials say no more."""
    wanted = data.username.lower()
    user = session.exec(
        select(User).where(or_(func.lower(User.username) == wanted, col(User.email) == wanted))
    ).first()
    wrong = AuthenticationFailed("Wrong username or password.", "Check both and try again.")
    if user is None:
        passwords.burn_verification_time(settings)
        raise wrong
    lockout.ensure_not_locked(user)
    if not passwords.verify_password(settings, user.password_hash, data.password):
        lockout.record_failure(session, user, ip=ip)
        raise wrong
    if not user.is_active:
        raise AuthenticationFailed(
            "This account is deactivated.", "Ask an admin of your team to reactivate it."
        )
    if user.totp_enabled:
        _check_second_factor(session, settings, user, data.totp_code, ip=ip)
    if passwords.password_hasher(settings).check_needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(settings, data.password)
    lockout.record_success(session, user)
    return start_session(session, settings, user, ip=ip, user_agent=user_agent)


def _check_second_factor(
    session: Session, settings: Settings, user: User, code: str | None, *, ip: str | None
) -> None:
    if not code:
        raise TwoFactorRequired(
            "This account uses two-factor authentication.",
            "Send `totp_code` with the code from your authenticator app or a recovery code.",
        )
    if accept_second_factor(session, settings, user, code, ip=ip):
        return
    lockout.record_failure(session, user, ip=ip)
    raise AuthenticationFailed("The two-factor code is wrong or expired.", "Use the current code.")


def _spend_totp_step(session: Session, user: User, advanced: str) -> bool:
    # Compare-and-swap on the sealed secret: of two logins racing with one code, one wins.
    swapped = session.connection().execute(
        update(User)
        .where(
            col(User.id) == user.id,
            col(User.totp_secret_encrypted) == user.totp_secret_encrypted,
        )
        .values(totp_secret_encrypted=advanced)
    )
    if swapped.rowcount != 1:
        return False
    set_committed_value(user, "totp_secret_encrypted", advanced)
    return True


def accept_second_factor(
    session: Session, settings: Settings, user: User, code: str, *, ip: str | None
) -> bool:
    """True for a current, unused TOTP code or an unused recovery code (both are then spent)."""
    if user.totp_secret_encrypted:
        advanced = totp.accept_code(settings, user.totp_secret_encrypted, code)
        if advanced is not None:
            return _spend_totp_step(session, user, advanced)
    stored = list(user.recovery_code_hashes)
    remaining = totp.consume_recovery_code(settings, stored, code)
    if remaining is None:
        return False
    # Compare-and-swap on the list's JSON text (the same serializer wrote it), so two logins
    # racing with one recovery code cannot both spend it.
    swapped = session.connection().execute(
        update(User)
        .where(
            col(User.id) == user.id,
            cast(col(User.recovery_code_hashes), String) == json.dumps(stored),
        )
        .values(recovery_code_hashes=remaining)
    )
    if swapped.rowcount != 1:
        return False
    set_committed_value(user, "recovery_code_hashes", remaining)
    session.add(
        SecurityEvent(
            kind="2fa_recovery_code_used",
            severity="warning",
            user_id=user.id,
            ip=ip,
            detail={"remaining": len(remaining)},
        )
    )
    return True
