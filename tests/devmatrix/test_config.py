"""Settings: defaults, SDK variables honoured, unsafe secrets refused with a one-line message."""

from __future__ import annotations

from pathlib import Path

import pytest

from devmatrix.config import load_settings
from devmatrix.errors import ConfigError


def test_defaults_put_data_in_the_data_dir(isolated_data_dir: Path) -> None:
    settings = load_settings()
    assert settings.env == "development"
    assert settings.effective_database_url == f"sqlite:///{isolated_data_dir / 'devmatrix.db'}"
    assert settings.chroma_path == isolated_data_dir / "chroma"


def test_sdk_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    settings = load_settings()
    assert settings.anthropic_api_key is not None
    assert settings.anthropic_api_key.get_secret_value() == "sk-ant-test"
    assert settings.openai_base_url == "http://127.0.0.1:11434/v1"


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("DEVMATRIX_LLM_PROVIDER=scripted\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_settings().llm_provider == "scripted"


def test_short_jwt_secret_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVMATRIX_ENV", "production")
    monkeypatch.setenv("DEVMATRIX_JWT_SECRET", "too-short")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "DEVMATRIX_JWT_SECRET" in message
    assert "\n" not in message


def test_default_password_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVMATRIX_ENV", "production")
    monkeypatch.setenv("DEVMATRIX_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("DEVMATRIX_DATABASE_URL", "postgresql://devmatrix:postgres@db/devmatrix")
    with pytest.raises(ConfigError, match="DEVMATRIX_DATABASE_URL"):
        load_settings()


def test_strong_secrets_accepted_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVMATRIX_ENV", "production")
    monkeypatch.setenv("DEVMATRIX_JWT_SECRET", "k" * 48)
    assert load_settings().jwt_signing_secret() == "k" * 48


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVMATRIX_LLM_PROVIDER", "gpt-banana")
    with pytest.raises(ConfigError, match="DEVMATRIX_LLM_PROVIDER"):
        load_settings()


def test_development_jwt_secret_is_generated_once(isolated_data_dir: Path) -> None:
    first = load_settings().jwt_signing_secret()
    assert len(first) >= 32
    assert load_settings().jwt_signing_secret() == first
