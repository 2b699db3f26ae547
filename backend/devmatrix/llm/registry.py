"""Which providers exist and which one the settings select.

A provider is registered as a factory `fn(settings) -> Provider`, named by an import reference
("module:attr") so its SDK is only imported when chosen. Built-ins are registered exactly like
third-party ones, which declare an entry point in the group `devmatrix.providers`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import cast

from devmatrix.config import Settings
from devmatrix.errors import ProviderUnavailable
from devmatrix.llm.provider import Provider

ProviderFactory = Callable[[Settings], Provider]
ENTRY_POINT_GROUP = "devmatrix.providers"
NOTHING_CONFIGURED_HINT = (
    "Set ANTHROPIC_API_KEY for Claude, or OPENAI_BASE_URL (with DEVMATRIX_LLM_MODEL) for an "
    "OpenAI-compatible server such as Ollama, or DEVMATRIX_SCRIPTED_ANSWERS to a file of "
    "prepared answers."
)

_REFERENCES: dict[str, str] = {}


def register_provider(name: str, reference: str) -> None:
    """Register a provider factory by import reference, e.g. "pkg.mod:Provider.from_settings"."""
    _REFERENCES[name] = reference


register_provider("anthropic", "devmatrix.llm.anthropic_provider:AnthropicProvider.from_settings")
register_provider("openai", "devmatrix.llm.openai_provider:OpenAICompatibleProvider.from_settings")
register_provider("scripted", "devmatrix.llm.scripted_provider:ScriptedProvider.from_settings")


def provider_names() -> list[str]:
    """Every registered provider, built-in and from installed plugins."""
    _load_plugins()
    return sorted(_REFERENCES)


def provider_factory(name: str) -> ProviderFactory:
    """The factory registered under `name`, imported on first use."""
    _load_plugins()
    if name not in _REFERENCES:
        raise ProviderUnavailable(
            f"No model provider is called {name!r}.",
            f"Set DEVMATRIX_LLM_PROVIDER to one of: auto, {', '.join(sorted(_REFERENCES))}.",
        )
    module_name, _, attribute_path = _REFERENCES[name].partition(":")
    target: object = importlib.import_module(module_name)
    for attribute in attribute_path.split("."):
        target = getattr(target, attribute)
    return cast(ProviderFactory, target)


def auto_provider_name(settings: Settings) -> str | None:
    """The provider "auto" picks: Anthropic with a key, else an OpenAI URL, else scripted answers."""
    if settings.anthropic_api_key is not None and settings.anthropic_api_key.get_secret_value():
        return "anthropic"
    if settings.openai_base_url or settings.openai_api_key is not None:
        return "openai"
    if settings.scripted_answers is not None:
        return "scripted"
    return None


def select_provider(settings: Settings) -> Provider:
    """The provider DEVMATRIX_LLM_PROVIDER names ("auto" picks the first usable one)."""
    name: str | None = settings.llm_provider
    if name == "auto":
        name = auto_provider_name(settings)
        if name is None:
            raise ProviderUnavailable("No model provider is configured.", NOTHING_CONFIGURED_HINT)
    return provider_factory(str(name))(settings)


def _load_plugins() -> None:
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        _REFERENCES.setdefault(entry.name, entry.value)
