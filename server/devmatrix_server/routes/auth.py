"""/api/v1/auth: register, login, refresh, logout, me."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from devmatrix_server import accounts
from devmatrix_server.deps import CurrentUser, SessionDep, SettingsDep
from devmatrix_server.errors import PermissionDenied
from devmatrix_server.schemas.auth import LoginRequest, RefreshRequest, TokenPairPublic
from devmatrix_server.schemas.users import UserCreate, UserPublic
from devmatrix_server.security import sessions
from devmatrix_server.security.sessions import TokenPair

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def client_ip(request: Request) -> str | None:
    """The peer address of the request (the server does not trust forwarding headers)."""
    return request.client.host if request.client else None


def _pair(pair: TokenPair) -> TokenPairPublic:
    return TokenPairPublic(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/register", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def register(data: UserCreate, session: SessionDep, settings: SettingsDep) -> UserPublic:
    """Create an account: first account or no invite → admin of a new team; invite → join its team."""
    return accounts.user_public(session, accounts.register(session, settings, data))


@router.post("/login", response_model=TokenPairPublic)
def login(
    data: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenPairPublic:
    """Exchange username (or email), password and, with 2FA on, a code for a token pair."""
    pair = accounts.login(
        session,
        settings,
        data,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return _pair(pair)


@router.post("/refresh", response_model=TokenPairPublic)
def refresh(
    data: RefreshRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenPairPublic:
    """Spend a refresh token for a new pair; a second use of one ends its session."""
    return _pair(sessions.rotate(session, settings, data.refresh_token, ip=client_ip(request)))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(caller: CurrentUser, session: SessionDep) -> None:
    """End the current login session (its access and refresh tokens stop working)."""
    if caller.session_id is None:
        raise PermissionDenied(
            "A personal access token has no session to end.",
            "Revoke the token with DELETE /api/v1/auth/tokens/{id} instead.",
        )
    sessions.revoke_session(
        session, sessions.live_session(session, caller.session_id), reason="logout"
    )


@router.get("/me", response_model=UserPublic)
def me(caller: CurrentUser, session: SessionDep) -> UserPublic:
    """The authenticated user."""
    return accounts.user_public(session, caller.user)
