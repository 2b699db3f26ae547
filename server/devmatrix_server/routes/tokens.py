"""/api/v1/auth/tokens: create, list and revoke personal access tokens."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import select

from devmatrix.storage.models import ApiToken
from devmatrix_server.deps import ObjectId, SessionDep, SessionUser, get_owned
from devmatrix_server.errors import PermissionDenied
from devmatrix_server.pagination import Page, PageParams, paginate
from devmatrix_server.schemas.auth import ApiTokenCreate, ApiTokenCreated, ApiTokenPublic
from devmatrix_server.security import tokens

router = APIRouter(prefix="/api/v1/auth/tokens", tags=["auth"])


@router.post("", response_model=ApiTokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(data: ApiTokenCreate, caller: SessionUser, session: SessionDep) -> ApiTokenCreated:
    """Create a token for editors and scripts; the `token` is shown only in this answer."""
    too_wide = set(data.scopes) - tokens.allowed_scopes(caller.role)
    if too_wide:
        raise PermissionDenied(
            f"A {caller.role} cannot create tokens with scope {', '.join(sorted(too_wide))}.",
            f"Allowed: {', '.join(sorted(tokens.allowed_scopes(caller.role)))}.",
        )
    plain, row = tokens.create_token(
        session,
        user=caller.user,
        name=data.name,
        scopes=data.scopes,
        expires_in_days=data.expires_in_days,
    )
    return ApiTokenCreated.model_validate(row, update={"token": plain})


@router.get("", response_model=Page[ApiTokenPublic])
def list_tokens(caller: SessionUser, session: SessionDep, page: PageParams) -> Page[ApiTokenPublic]:
    """The caller's tokens, revoked and expired ones included."""
    statement = select(ApiToken).where(ApiToken.user_id == caller.user_id)
    return paginate(
        session, statement, key=ApiToken.id, page=page, to_public=ApiTokenPublic.model_validate
    )


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: ObjectId, caller: SessionUser, session: SessionDep) -> None:
    """Revoke one of the caller's tokens; it stops working at once."""
    tokens.revoke_token(session, get_owned(session, ApiToken, token_id, caller, what="Token"))
