"""What `devmatrix doctor` shows for the LLM layer: the model provider and the response cache.

With no provider configured the check passes (nothing is broken yet; the detail says what to
set), so the doctor stays green on a fresh machine; a configured provider that does not work
fails it.
"""

from __future__ import annotations

import asyncio

from devmatrix.config import Settings
from devmatrix.doctor import Check
from devmatrix.errors import DevMatrixError
from devmatrix.llm.anthropic_provider import AnthropicProvider
from devmatrix.llm.client import build_cache
from devmatrix.llm.openai_provider import OpenAICompatibleProvider
from devmatrix.llm.provider import Provider
from devmatrix.llm.registry import NOTHING_CONFIGURED_HINT, auto_provider_name, select_provider
from devmatrix.llm.scripted_provider import ScriptedProvider
from devmatrix.storage.db import engine_for


def model_provider_check(settings: Settings) -> Check:
    """Which provider and model are active, whether the key is set, and whether it answers."""
    name = (
        auto_provider_name(settings) if settings.llm_provider == "auto" else settings.llm_provider
    )
    if name is None:
        return Check("model provider", "none", True, f"none configured. {NOTHING_CONFIGURED_HINT}")
    try:
        detail = asyncio.run(_probe(select_provider(settings)))
    except DevMatrixError as exc:
        return Check("model provider", name, False, str(exc))
    return Check("model provider", name, True, detail)


async def _probe(provider: Provider) -> str:
    # Listing models is free and proves that the URL and, where needed, the key work.
    if isinstance(provider, AnthropicProvider):
        await provider.list_models()
        return f"model {provider.default_model} at {provider.base_url}; ANTHROPIC_API_KEY set"
    if isinstance(provider, OpenAICompatibleProvider):
        served = await provider.list_models()
        key = (
            "OPENAI_API_KEY set"
            if provider.api_key
            else "no OPENAI_API_KEY (fine for local servers)"
        )
        unlisted = "" if provider.default_model in served else " (not listed by the server)"
        return f"model {provider.default_model}{unlisted} at {provider.base_url}; {key}"
    if isinstance(provider, ScriptedProvider):
        return f"{len(provider.answers)} prepared answers from {provider.source}"
    return f"provider {type(provider).__name__}"


def cache_check(settings: Settings) -> Check:
    """Which response cache is active (database or Redis) and whether it answers a ping."""
    cache = build_cache(settings, engine_for(settings.effective_database_url))
    try:
        cache.ping()
    except Exception as exc:  # noqa: BLE001 - the doctor shows any failure with the implementation
        return Check("cache", cache.kind, False, f"{type(exc).__name__}: {exc}")
    finally:
        cache.close()
    return Check("cache", cache.kind, True, f"entries kept {settings.cache_ttl_seconds // 3600} h")
