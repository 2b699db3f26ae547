"""Prometheus metrics (prometheus-client) served at `/api/v1/metrics`.

Request count and latency by route template and status; LLM tokens and cost through
`record_llm_usage`, which the engine's LLM client can call; events published, read from the bus.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from devmatrix.events import EventBus

# A registry of our own: the process default one would collect twice when tests build many apps.
REGISTRY = CollectorRegistry()
HTTP_REQUESTS = Counter(
    "devmatrix_http_requests",
    "HTTP requests handled, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "devmatrix_http_request_duration_seconds",
    "Time to answer HTTP requests, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "devmatrix_llm_tokens",
    "Model tokens spent, by provider, model and kind (input, output, cache_read, cache_write).",
    ["provider", "model", "kind"],
    registry=REGISTRY,
)
LLM_COST = Counter(
    "devmatrix_llm_cost_usd",
    "Model spend in US dollars, by provider and model.",
    ["provider", "model"],
    registry=REGISTRY,
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency."""
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def record_llm_usage(
    provider: str,
    model: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    cost_usd: float = 0.0,
) -> None:
    """Add one model call's tokens and cost to the counters (called by the LLM client)."""
    for kind, count in (
        ("input", input_tokens),
        ("output", output_tokens),
        ("cache_read", cache_read_tokens),
        ("cache_write", cache_write_tokens),
    ):
        if count:
            LLM_TOKENS.labels(provider, model, kind).inc(count)
    if cost_usd:
        LLM_COST.labels(provider, model).inc(cost_usd)


class EventsCollector(Collector):
    """Reads the bus's own per-type counters at scrape time (the engine keeps no Prometheus)."""

    def __init__(self) -> None:
        self.buses: weakref.WeakSet[EventBus] = weakref.WeakSet()

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "devmatrix_events_published", "Engine events published, by type.", labels=["type"]
        )
        totals: dict[str, int] = {}
        for bus in list(self.buses):
            for kind, count in bus.published.items():
                totals[kind] = totals.get(kind, 0) + count
        for kind, count in sorted(totals.items()):
            family.add_metric([kind], count)
        yield family


EVENTS = EventsCollector()
REGISTRY.register(EVENTS)


def install_metrics(app: FastAPI, bus: EventBus) -> None:
    """Serve `/api/v1/metrics` and count the events `bus` publishes."""
    EVENTS.buses.add(bus)

    @app.get("/api/v1/metrics", tags=["metrics"], response_class=Response, include_in_schema=True)
    def metrics() -> Response:
        """Prometheus text exposition of the server's metrics."""
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
