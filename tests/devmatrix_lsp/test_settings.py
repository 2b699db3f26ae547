"""Settings from initializationOptions, didChangeConfiguration and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from devmatrix_lsp.settings import Settings, SettingsError

INITIAL = {"backendUrl": "http://team:8000/", "token": "dmx_x", "provider": "scripted"}


def test_options_are_read_and_checked() -> None:
    settings = Settings.from_options({**INITIAL, "reviewThreshold": 1, "unknown": True})
    assert settings.backend_url == "http://team:8000"
    assert settings.review_threshold == 1.0
    with pytest.raises(SettingsError, match="provider must be one of"):
        Settings.from_options({"provider": "gpt"})
    with pytest.raises(SettingsError, match="reviewThreshold must be a number"):
        Settings.from_options({"reviewThreshold": "high"})
    with pytest.raises(SettingsError, match="must be a JSON object"):
        Settings.from_options(["x"])


@pytest.mark.parametrize("payload", [None, {}, {"devmatrix": {}}, {"other": {"x": 1}}, "x"])
def test_an_empty_configuration_change_keeps_the_settings(payload: object) -> None:
    settings = Settings.from_options(INITIAL)
    assert settings.updated(payload) == settings


def test_a_configuration_change_overrides_only_what_it_names() -> None:
    settings = Settings.from_options(INITIAL)
    changed = settings.updated({"devmatrix": {"model": "m1", "token": None}})
    assert changed == Settings.from_options({**INITIAL, "model": "m1"})
    bare = settings.updated({"backendUrl": "http://other:1"})
    assert bare.backend_url == "http://other:1"
    assert bare.token == "dmx_x"


def test_url_and_token_fall_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVMATRIX_BACKEND_URL", "http://env:9/")
    monkeypatch.setenv("DEVMATRIX_TOKEN", "dmx_env")
    assert Settings().with_environment() == Settings(backend_url="http://env:9", token="dmx_env")
    given = Settings.from_options(INITIAL).with_environment()
    assert (given.backend_url, given.token) == ("http://team:8000", "dmx_x")


def test_the_private_backend_environment(tmp_path: Path) -> None:
    settings = Settings.from_options(
        {"provider": "scripted", "scriptedAnswers": "/a.json", "budgetPerRunUsd": 2}
    )
    env = settings.private_env(tmp_path / "ws" / "..", "dmx_local")
    assert env == {
        "DEVMATRIX_DATA_DIR": str(tmp_path / ".devmatrix"),
        "DEVMATRIX_LOCAL_TOKEN": "dmx_local",
        "DEVMATRIX_LLM_PROVIDER": "scripted",
        "DEVMATRIX_BUDGET_PER_PLAN_USD": "2.0",
        "DEVMATRIX_SCRIPTED_ANSWERS": "/a.json",
    }


def test_data_folder_without_a_workspace_is_per_user_never_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.chdir(tmp_path / "..")
    assert Settings().data_folder(None) == tmp_path / "share" / "devmatrix" / "editor"
    assert Settings().data_folder(tmp_path) == tmp_path / ".devmatrix"
    given = Settings.from_options({"dataDir": str(tmp_path / "mine")})
    assert given.data_folder(tmp_path) == tmp_path / "mine"
