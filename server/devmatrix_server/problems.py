"""Every error leaves the API as an RFC 9457 problem detail (`application/problem+json`).

Tracebacks never reach the client: unexpected errors are logged and answered with a generic 500.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from devmatrix.errors import (
    BudgetExceeded,
    ConfigError,
    DevMatrixError,
    NotFoundError,
    ProviderUnavailable,
    StorageError,
)
from devmatrix_server.errors import (
    AccountLocked,
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    PermissionDenied,
    ServerStopping,
    TwoFactorRequired,
)

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
INTERNAL_DETAIL = "The server failed to handle this request; it has been logged."

# Most specific class first: the first match in the error's MRO wins.
STATUS_BY_ERROR: dict[type[DevMatrixError], tuple[int, str]] = {
    TwoFactorRequired: (401, "two-factor-required"),
    AuthenticationFailed: (401, "authentication-failed"),
    PermissionDenied: (403, "permission-denied"),
    NotFoundError: (404, "not-found"),
    Conflict: (409, "conflict"),
    InvalidInput: (422, "invalid-input"),
    AccountLocked: (423, "account-locked"),
    BudgetExceeded: (429, "budget-exceeded"),
    ProviderUnavailable: (503, "provider-unavailable"),
    ConfigError: (500, "configuration-error"),
    StorageError: (503, "storage-unavailable"),
    ServerStopping: (503, "server-stopping"),
}


class Problem(BaseModel):
    """RFC 9457 problem detail; validation problems add `errors`."""

    type: str = Field(default="about:blank", examples=["urn:devmatrix:problem:not-found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str | None = Field(default=None, examples=["Plan 7 does not exist."])
    instance: str | None = Field(default=None, examples=["/api/v1/plans/7"])
    # Validation problems: [{"loc": ["body", "email"], "msg": "...", "type": "..."}, ...]
    errors: list[dict[str, Any]] | None = None


def problem_response(
    request: Request,
    status: int,
    detail: str | None,
    *,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response for `request`; `slug` names the problem type."""
    body = problem_body(status, detail, slug=slug, instance=request.url.path, **extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def problem_body(
    status: int, detail: str | None, *, slug: str | None, instance: str, **extra: Any
) -> dict[str, Any]:
    """The problem detail document itself (also sent as the `error` event of a stream)."""
    return {
        "type": f"urn:devmatrix:problem:{slug}" if slug else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }


def problem_for_error(exc: BaseException, instance: str) -> dict[str, Any]:
    """The problem detail for an error raised after a streamed response has started, when only
    the body can still carry it: a DevMatrixError says what went wrong, anything else is logged
    and reported as a generic internal error, as for a plain request."""
    if isinstance(exc, DevMatrixError):
        status, slug = _status_for(exc)
        if status >= 500:
            log.error("request failed: %s", exc)
        return problem_body(status, str(exc), slug=slug, instance=instance)
    log.error("unhandled error on %s", instance, exc_info=exc)
    return problem_body(status=500, detail=INTERNAL_DETAIL, slug="internal", instance=instance)


def _status_for(exc: DevMatrixError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400, "bad-request"


async def _on_devmatrix_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DevMatrixError)
    status, slug = _status_for(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, AccountLocked):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if status >= 500:
        log.error("request failed: %s", exc)
    return problem_response(request, status, str(exc), slug=slug, headers=headers or None)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(request, exc.status_code, detail, headers=headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Inputs are left out on purpose: they may hold passwords or tokens.
    errors = [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in exc.errors()
    ]
    where = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:3])
    return problem_response(
        request,
        422,
        f"The request is not valid: {where}. See `errors` for each field.",
        slug="validation-error",
        errors=errors,
    )


async def _on_database_refusal(request: Request, exc: Exception) -> JSONResponse:
    # Reached only when a value slipped past request validation (e.g. a NUL character, which
    # PostgreSQL refuses) or two requests raced for the same unique name.
    if isinstance(exc, IntegrityError):
        return problem_response(
            request,
            409,
            "The change clashes with existing data; reload and retry.",
            slug="conflict",
        )
    return problem_response(
        request,
        422,
        "A value in the request cannot be stored (check for control characters or out-of-range numbers).",
        slug="invalid-input",
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, 500, INTERNAL_DETAIL, slug="internal")


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem detail."""
    app.add_exception_handler(DevMatrixError, _on_devmatrix_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(IntegrityError, _on_database_refusal)
    app.add_exception_handler(DataError, _on_database_refusal)
    app.add_exception_handler(Exception, _on_unexpected)


# Documented on every route (the app passes them to FastAPI): errors come as problem+json.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": HTTPStatus(code).phrase,
        "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
    }
    for code in (401, 403, 404, 409, 422, 423, 429, 500, 503)
}
