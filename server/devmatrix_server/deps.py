"""Shared route dependencies, as `Annotated` aliases: database session, caller, roles, team scope.

Routes declare what they need in their signature (`caller: MemberAccess`, `session: SessionDep`)
and read ids through `get_in_team`, so an object of another team is simply "not found".
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine, bindparam, select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from devmatrix.config import Settings
from devmatrix.errors import NotFoundError
from devmatrix.storage.models import AuthSession, Role, User
from devmatrix_server.accounts import ROLES
from devmatrix_server.errors import AuthenticationFailed, PermissionDenied
from devmatrix_server.loop_reads import loop_reads
from devmatrix_server.schemas.users import RoleName
from devmatrix_server.security import tokens
from devmatrix_server.security.jwt import decode_token

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_ID = 2**31 - 1  # integer primary keys are 32-bit on PostgreSQL
Model = TypeVar("Model")

bearer = HTTPBearer(
    auto_error=False,
    description="An access token from /api/v1/auth/login, or a personal access token `dmx_…`.",
)


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request; persistence functions commit their own writes.

    Opening a session touches no connection, so it costs no trip to a worker thread; the route's
    first query takes one. Handing a connection back ends its transaction: over the network
    (PostgreSQL) that waits for the server, so it goes to a worker thread, not the event loop.
    """
    engine: Engine = request.app.state.engine
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction() and engine.dialect.name != "sqlite":
            await run_in_threadpool(session.close)
        else:
            session.close()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Caller:
    """Who is calling and with what: a login session (all scopes of the role) or a token's scopes."""

    user_id: int
    team_id: int  # the only team whose objects the caller may see
    role: RoleName
    scopes: frozenset[str]
    session_id: str | None = None
    api_token_id: int | None = None
    engine: Engine | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def user(self) -> User:
        """The caller's account, read on first use (blocking: use it from `def` routes).

        Authentication checks only ids, flags and the role, so most requests never load it.
        """
        if self.engine is None:
            raise RuntimeError("This Caller has no database to read its account from.")
        with Session(self.engine, expire_on_commit=False) as session:
            user = session.get(User, self.user_id)
        if user is None:
            raise AuthenticationFailed("This account no longer exists.", "Log in again.")
        return user


# One query for a login session's revocation, its user's team and state and its role: it runs
# on every authenticated request, so the statement is built once (building it cost as much as
# running it) and reads plain columns (loading the ORM User cost as much again).
_SESSION_CALLER = (
    select(
        col(AuthSession.revoked_at),
        col(User.id),
        col(User.team_id),
        col(User.is_active),
        col(Role.name),
    )
    .join(User, col(User.id) == col(AuthSession.user_id))
    .join(Role, col(Role.id) == col(User.role_id))
    .where(col(AuthSession.id) == bindparam("sid"))
)


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The authenticated caller of a request: a JWT access token or a personal access token.

    An access token's session is read through `LoopReads` (on the event loop for SQLite); a
    personal access token in a worker thread, since using one may record when it was last used.
    """
    raw = _bearer_credential(credentials)
    engine: Engine = request.app.state.engine
    if raw.startswith(tokens.PREFIX):
        caller = await run_in_threadpool(_token_caller_in_thread, engine, raw)
    else:
        claims = decode_token(request.app.state.settings, raw, purpose="access")
        caller = await loop_reads(request.app.state).run(
            lambda connection: session_caller(connection, claims, engine)
        )
    return _identified(request, caller)


def get_caller(
    request: Request,
    session: Session,
    settings: Settings,
    credentials: HTTPAuthorizationCredentials | None,
) -> Caller:
    """`current_caller` for code that already holds a session and runs in a worker thread."""
    raw = _bearer_credential(credentials)
    engine: Engine = request.app.state.engine
    if raw.startswith(tokens.PREFIX):
        return _identified(request, token_caller(session, raw, engine))
    claims = decode_token(settings, raw, purpose="access")
    return _identified(request, session_caller(session.connection(), claims, engine))


def _bearer_credential(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed(
            "This route needs a Bearer token.",
            "Send `Authorization: Bearer <token>` with a token from /api/v1/auth/login.",
        )
    return credentials.credentials


def _identified(request: Request, caller: Caller) -> Caller:
    # Middleware (audit, rate limits) reads who the request was from here.
    request.state.user_id = caller.user_id
    request.state.team_id = caller.team_id
    return caller


def session_caller(connection: Connection, claims: dict[str, Any], engine: Engine) -> Caller:
    """The caller behind verified access-token `claims`, if its login session is still open."""
    sid = str(claims.get("sid", ""))
    found = connection.execute(_SESSION_CALLER, {"sid": sid}).first()
    if found is None or found.revoked_at is not None:
        raise AuthenticationFailed("The session was ended.", "Log in again.")
    if str(found.id) != claims["sub"]:
        raise AuthenticationFailed("The token does not match its session.", "Log in again.")
    role = _active_role(found.is_active, found.name)
    return Caller(
        found.id, found.team_id, role, tokens.allowed_scopes(role), session_id=sid, engine=engine
    )


def token_caller(session: Session, raw: str, engine: Engine) -> Caller:
    """The caller behind personal access token `raw` (records its use; may commit)."""
    row, user, role = tokens.resolve_token(session, raw)
    assert user.id is not None
    return Caller(
        user.id,
        user.team_id,
        _active_role(user.is_active, role.name),
        frozenset(row.scopes) & tokens.allowed_scopes(role.name),
        api_token_id=row.id,
        engine=engine,
    )


def _token_caller_in_thread(engine: Engine, raw: str) -> Caller:
    with Session(engine, expire_on_commit=False) as session:
        return token_caller(session, raw, engine)


def _active_role(is_active: bool, role: str) -> RoleName:
    if not is_active:
        raise AuthenticationFailed(
            "This account is deactivated.", "Ask an admin of your team to reactivate it."
        )
    if role not in ROLES:
        raise PermissionDenied(f"The role {role!r} is not one this server knows.")
    return cast(RoleName, role)  # checked against ROLES just above


CurrentUser = Annotated[Caller, Depends(current_caller)]


async def require_method_access(request: Request, caller: CurrentUser) -> Caller:
    """Reads need the `read` scope; anything else needs `write` and a role other than viewer."""
    if request.method in READ_METHODS:
        if "read" not in caller.scopes:
            raise PermissionDenied("This token lacks the `read` scope.", "Create one with `read`.")
        return caller
    if caller.role == "viewer":
        raise PermissionDenied(
            "Viewers have read-only access.", "Ask an admin of your team for the user role."
        )
    if "write" not in caller.scopes:
        raise PermissionDenied("This token lacks the `write` scope.", "Create one with `write`.")
    return caller


# Every resource route takes `MemberAccess`: authenticated, and viewers/read tokens only read.
MemberAccess = Annotated[Caller, Depends(require_method_access)]


async def require_admin(request: Request, caller: MemberAccess, settings: SettingsDep) -> Caller:
    """Admin role (and `admin` scope for tokens), from an allowed address when a list is set."""
    if caller.role != "admin" or "admin" not in caller.scopes:
        raise PermissionDenied(
            "This route is for team admins.",
            "Tokens also need the `admin` scope." if caller.api_token_id else None,
        )
    if settings.admin_ip_allowlist and not ip_allowed(
        request.client.host if request.client else None, settings.admin_ip_allowlist
    ):
        raise PermissionDenied(
            "Admin routes are not open to your network address.",
            "Use an address in DEVMATRIX_ADMIN_IP_ALLOWLIST.",
        )
    return caller


AdminUser = Annotated[Caller, Depends(require_admin)]


async def require_login_session(caller: CurrentUser) -> Caller:
    """Account security (2FA, tokens) is changed from a login session, never with a token."""
    if caller.session_id is None:
        raise PermissionDenied(
            "Personal access tokens cannot change account security.",
            "Log in with your password and use the access token from /api/v1/auth/login.",
        )
    return caller


SessionUser = Annotated[Caller, Depends(require_login_session)]


def ip_allowed(host: str | None, allowlist: list[str]) -> bool:
    """True when `host` is inside one of the addresses or CIDR blocks of `allowlist`."""
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in allowlist)


# Path parameter for integer ids: out-of-range numbers are a 422, never a database error.
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID, description="The object's id.", examples=[1])]


def get_in_team(
    session: Session, model: type[Model], object_id: Any, caller: Caller, *, what: str
) -> Model:
    """Load `model` #`object_id` if it belongs to the caller's team; otherwise "not found".

    Objects of other teams answer 404, not 403, so ids of other teams reveal nothing.
    """
    obj = session.get(model, object_id)
    if obj is None or getattr(obj, "team_id", None) != caller.team_id:
        raise not_found(what, object_id)
    return obj


def get_owned(
    session: Session, model: type[Model], object_id: Any, caller: Caller, *, what: str
) -> Model:
    """Load `model` #`object_id` if the caller owns it (`user_id`); otherwise "not found"."""
    obj = session.get(model, object_id)
    if obj is None or getattr(obj, "user_id", None) != caller.user_id:
        raise not_found(what, object_id)
    return obj


def not_found(what: str, object_id: Any) -> NotFoundError:
    """The one answer for a missing object and for another team's (or user's) object."""
    return NotFoundError(f"{what} {object_id} does not exist.", "Check the id.")
