"""Liveness and readiness: is the process up, and can it reach what it is configured to use."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from devmatrix.config import Settings

router = APIRouter(prefix="/api/v1/health", tags=["health"])


class Live(BaseModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class PartCheck(BaseModel):
    """One dependency's readiness."""

    part: str = Field(examples=["database"])
    ok: bool
    detail: str = Field(default="", examples=["sqlite"])


class Ready(BaseModel):
    """Every configured dependency, checked now."""

    status: Literal["ok", "degraded"]
    checks: list[PartCheck]


@router.get("/live", response_model=Live, summary="The process is up")
async def live() -> Live:
    """Answer as long as the process serves requests."""
    return Live()


@router.get(
    "/ready",
    response_model=Ready,
    summary="Database and configured services are reachable",
    responses={503: {"model": Ready, "description": "A configured dependency is unreachable"}},
)
def ready(request: Request, response: Response) -> Ready:
    """Check the database always; Redis, Chroma and the model provider only when configured."""
    settings: Settings = request.app.state.settings
    checks = [_check_database(request.app.state.engine)]
    if settings.redis_url:
        checks.append(_check_redis(settings.redis_url))
    if settings.chroma_url:
        checks.append(_check_http("chroma", settings.chroma_url.rstrip("/") + "/api/v2/heartbeat"))
    provider = _provider_check(settings)
    if provider is not None:
        checks.append(provider)
    healthy = all(check.ok for check in checks)
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Ready(status="ok" if healthy else "degraded", checks=checks)


def _check_database(engine: Engine) -> PartCheck:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any driver failure means "not ready"
        return PartCheck(part="database", ok=False, detail=type(exc).__name__)
    return PartCheck(part="database", ok=True, detail=engine.dialect.name)


def _check_redis(url: str) -> PartCheck:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return PartCheck(part="redis", ok=False, detail=type(exc).__name__)
    return PartCheck(part="redis", ok=True, detail="ping")


def _check_http(part: str, url: str) -> PartCheck:
    import httpx

    try:
        answer = httpx.get(url, timeout=2.0)
    except httpx.HTTPError as exc:
        return PartCheck(part=part, ok=False, detail=type(exc).__name__)
    return PartCheck(part=part, ok=answer.status_code < 500, detail=f"HTTP {answer.status_code}")


def _provider_check(settings: Settings) -> PartCheck | None:
    """Report the model provider only when one is configured; checking it must not spend tokens."""
    if settings.llm_provider == "scripted":
        ok = settings.scripted_answers is not None and settings.scripted_answers.exists()
        return PartCheck(part="model_provider", ok=ok, detail="scripted")
    if settings.llm_provider == "anthropic" or settings.anthropic_api_key:
        return PartCheck(
            part="model_provider", ok=settings.anthropic_api_key is not None, detail="anthropic"
        )
    if settings.llm_provider == "openai" or settings.openai_base_url:
        if settings.openai_base_url:
            check = _check_http("model_provider", settings.openai_base_url.rstrip("/") + "/models")
            return check.model_copy(update={"detail": f"openai: {check.detail}"})
        return PartCheck(
            part="model_provider", ok=settings.openai_api_key is not None, detail="openai"
        )
    return None
