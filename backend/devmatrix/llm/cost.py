"""What a call costs: a price table per model (USD per million tokens) and `cost_usd(model, usage)`.

Built-in prices are list prices at the time of writing; a JSON file at DEVMATRIX_PRICE_TABLE
overrides or extends them: `{"model-or-prefix": {"input": 3, "output": 15, "cache_read": 0.3,
"cache_write": 3.75}}`. A model is priced by the longest table key it starts with; an unknown
model (e.g. a local one) costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, TypeAdapter, ValidationError

from devmatrix.errors import ConfigError
from devmatrix.llm.types import Usage

PER_TOKEN = 1 / 1_000_000


class Price(BaseModel):
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float = 0.0
    cache_write: float = 0.0


PriceTable = Mapping[str, Price]

DEFAULT_PRICES: dict[str, Price] = {
    # Anthropic: family fallbacks first, then the generations priced differently.
    "claude-opus": Price(input=5, output=25, cache_read=0.5, cache_write=6.25),
    "claude-opus-4-0": Price(input=15, output=75, cache_read=1.5, cache_write=18.75),
    "claude-opus-4-1": Price(input=15, output=75, cache_read=1.5, cache_write=18.75),
    "claude-opus-4-2025": Price(input=15, output=75, cache_read=1.5, cache_write=18.75),
    "claude-sonnet": Price(input=3, output=15, cache_read=0.3, cache_write=3.75),
    "claude-3-7-sonnet": Price(input=3, output=15, cache_read=0.3, cache_write=3.75),
    "claude-haiku": Price(input=1, output=5, cache_read=0.1, cache_write=1.25),
    "claude-3-5-haiku": Price(input=0.8, output=4, cache_read=0.08, cache_write=1),
    "claude-3-haiku": Price(input=0.25, output=1.25, cache_read=0.03, cache_write=0.3),
    # OpenAI: cached input is read at a discount; there is no separate cache write charge.
    "gpt-4o": Price(input=2.5, output=10, cache_read=1.25),
    "gpt-4o-mini": Price(input=0.15, output=0.6, cache_read=0.075),
    "gpt-4.1": Price(input=2, output=8, cache_read=0.5),
    "gpt-4.1-mini": Price(input=0.4, output=1.6, cache_read=0.1),
    "gpt-4.1-nano": Price(input=0.1, output=0.4, cache_read=0.025),
    "gpt-5": Price(input=1.25, output=10, cache_read=0.125),
    "gpt-5-mini": Price(input=0.25, output=2, cache_read=0.025),
    "o3": Price(input=2, output=8, cache_read=0.5),
    "o4-mini": Price(input=1.1, output=4.4, cache_read=0.275),
}

_TABLE_ADAPTER = TypeAdapter(dict[str, Price])


def load_price_table(path: Path | None) -> dict[str, Price]:
    """The built-in prices, overridden by the JSON file at `path` when given."""
    table = dict(DEFAULT_PRICES)
    if path is None:
        return table
    try:
        table.update(_TABLE_ADAPTER.validate_json(path.read_bytes()))
    except FileNotFoundError:
        raise ConfigError(
            f"DEVMATRIX_PRICE_TABLE: {path} does not exist.", "Fix the path or unset it."
        ) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise ConfigError(
            f"DEVMATRIX_PRICE_TABLE: {path} is not a price table ({where}: {error['msg']}).",
            'Expected {"model": {"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75}}.',
        ) from None
    return table


def price_for(model: str, prices: PriceTable = DEFAULT_PRICES) -> Price | None:
    """The price of the longest table key `model` starts with, or None when unknown."""
    matches = [key for key in prices if model.startswith(key)]
    return prices[max(matches, key=len)] if matches else None


def cost_usd(model: str, usage: Usage, prices: PriceTable = DEFAULT_PRICES) -> float:
    """Cost in USD of `usage` on `model`; zero for models the table does not know."""
    price = price_for(model, prices)
    if price is None:
        return 0.0
    return PER_TOKEN * (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_tokens * price.cache_read
        + usage.cache_write_tokens * price.cache_write
    )
