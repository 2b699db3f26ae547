"""One settings object, read from `DEVMATRIX_*` variables and `.env`, validated at start.

Unsafe secrets stop start-up outside development with a one-line message naming the variable.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from devmatrix.errors import ConfigError

Environment = Literal["development", "test", "production"]
ProviderName = Literal["auto", "anthropic", "openai", "scripted"]

# Passwords that ship in tutorials and docker-compose files; never acceptable outside development.
DEFAULT_PASSWORDS = frozenset(
    {
        "admin",
        "password",
        "changeme",
        "change-me",
        "secret",
        "postgres",
        "devmatrix",
        "root",
        "123456",
    }
)
MIN_JWT_SECRET_LENGTH = 32


class WebhookTarget(BaseModel):
    """Where security events are sent: a Slack-compatible or PagerDuty Events v2 endpoint."""

    url: str
    format: Literal["slack", "pagerduty"] = "slack"
    routing_key: SecretStr | None = None  # PagerDuty integration key


def default_data_dir() -> Path:
    """Per-user data folder (e.g. ~/.local/share/devmatrix on Linux)."""
    return Path(platformdirs.user_data_dir("devmatrix", appauthor=False))


class Settings(BaseSettings):
    """Every knob of DevMatrix. Field `x` is read from `DEVMATRIX_X` unless an alias says otherwise."""

    model_config = SettingsConfigDict(
        env_prefix="DEVMATRIX_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    env: Environment = "development"
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    redis_url: str | None = None
    chroma_url: str | None = None

    # Model provider. "auto" picks Anthropic when a key is set, then an OpenAI-compatible URL.
    llm_provider: ProviderName = "auto"
    llm_model: str | None = None
    llm_timeout_seconds: float = 120.0
    llm_max_retries: int = 4
    scripted_answers: Path | None = None
    price_table: Path | None = None
    anthropic_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DEVMATRIX_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
    )
    anthropic_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DEVMATRIX_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL"),
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DEVMATRIX_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DEVMATRIX_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )

    # Cost control.
    cache_ttl_seconds: int = 7 * 24 * 3600
    budget_per_plan_usd: float | None = None
    budget_per_user_usd: float | None = None

    # Review: atoms whose confidence (see docs/validation.md) is below this go to a person.
    review_confidence_threshold: float = Field(default=0.7, ge=0.0, le=1.0)

    # Server and authentication.
    jwt_secret: SecretStr | None = None
    admin_password: SecretStr | None = None
    # A `dmx_` token the language server hands its private backend; honoured only on loopback.
    local_token: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list)

    # Atomizer: larger source files (usually generated) are reported and skipped.
    atomize_max_file_bytes: int = 2_000_000
    jwt_issuer: str = "devmatrix"
    jwt_audience: str = "devmatrix-api"
    access_token_minutes: int = Field(default=60, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)
    session_idle_minutes: int = Field(default=12 * 60, ge=1)
    session_absolute_days: int = Field(default=30, ge=1)
    # Client addresses or CIDR blocks allowed on /api/v1/admin; empty means any address.
    admin_ip_allowlist: list[str] = Field(default_factory=list)
    # "fast" lowers argon2 cost so test suites run quickly; ignored when env is production.
    argon2_profile: Literal["standard", "fast"] = "standard"

    # Operations: event bus channel, rate-limit tiers ("count/second|minute|hour"), webhooks.
    events_channel: str = "devmatrix:events"
    events_heartbeat_seconds: float = 20.0
    rate_limit_enabled: bool = True
    rate_limit_anonymous: str = "120/minute"
    rate_limit_user: str = "1200/minute"
    rate_limit_admin: str = "3000/minute"
    rate_limit_auth: str = "20/minute"
    rate_limit_prefix: str = "devmatrix:ratelimit"
    security_webhooks: list[WebhookTarget] = Field(default_factory=list)

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded SQLite database lives when no URL is configured."""
        return self.data_dir / "devmatrix.db"

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file in the data folder."""
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def chroma_path(self) -> Path:
        """Where embedded Chroma keeps its collections."""
        return self.data_dir / "chroma"

    @model_validator(mode="after")
    def _refuse_unsafe_secrets(self) -> Settings:
        if self.env == "development":
            return self
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if len(secret) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(
                f"DEVMATRIX_JWT_SECRET must be at least {MIN_JWT_SECRET_LENGTH} characters when "
                f"DEVMATRIX_ENV={self.env}; generate one with: "
                'python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        if (
            self.admin_password
            and self.admin_password.get_secret_value().lower() in DEFAULT_PASSWORDS
        ):
            raise ValueError(
                "DEVMATRIX_ADMIN_PASSWORD is a well-known default password; set a strong one"
            )
        for name, url in (
            ("DEVMATRIX_DATABASE_URL", self.database_url),
            ("DEVMATRIX_REDIS_URL", self.redis_url),
        ):
            password = make_url(url).password if url else None
            if password and str(password).lower() in DEFAULT_PASSWORDS:
                raise ValueError(f"{name} uses a well-known default password; use a strong one")
        return self

    def jwt_signing_secret(self) -> str:
        """The JWT secret; in development a random one is made per data folder and kept there."""
        if self.jwt_secret:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "dev-jwt-secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; a bad value becomes one `ConfigError` line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        if where != "settings":
            message = f"DEVMATRIX_{where.upper()}: {message}"
        raise ConfigError(message) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
