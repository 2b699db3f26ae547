"""Prometheus metrics (prometheus-client) served at `/api/v1/metrics`.

Request count and latency by route template and status are counted in this process. Model
tokens, cost and calls are read at scrape time from the usage records the LLM client already
writes for every call, so the engine calls nothing extra and the figures survive restarts and
agree across server processes. Events published are read from the bus's own counters.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from devmatrix.events import EventBus
from devmatrix.storage.models import UsageRecord

# Request metrics are per process (the middleware is); a registry of our own keeps tests that
# build many apps from registering the same names twice in the library's default one.
PROCESS_REGISTRY = CollectorRegistry()
HTTP_REQUESTS = Counter(
    "devmatrix_http_requests",
    "HTTP requests handled, by method, route template and status.",
    ["method", "route", "status"],
    registry=PROCESS_REGISTRY,
)
HTTP_LATENCY = Histogram(
    "devmatrix_http_request_duration_seconds",
    "Time to answer HTTP requests, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=PROCESS_REGISTRY,
)
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency."""
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


class UsageCollector(Collector):
    """Model tokens, cost and calls by provider and model, summed from `UsageRecord` rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[CounterMetricFamily]:
        tokens = CounterMetricFamily(
            "devmatrix_llm_tokens",
            "Model tokens spent, by provider, model and kind.",
            labels=["provider", "model", "kind"],
        )
        cost = CounterMetricFamily(
            "devmatrix_llm_cost_usd", "Model spend in US dollars.", labels=["provider", "model"]
        )
        calls = CounterMetricFamily(
            "devmatrix_llm_calls", "Model calls recorded.", labels=["provider", "model"]
        )
        query = select(
            col(UsageRecord.provider),
            col(UsageRecord.model),
            func.sum(UsageRecord.input_tokens),
            func.sum(UsageRecord.output_tokens),
            func.sum(UsageRecord.cache_read_tokens),
            func.sum(UsageRecord.cache_write_tokens),
            func.sum(UsageRecord.cost_usd),
            func.count(),
        ).group_by(col(UsageRecord.provider), col(UsageRecord.model))
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        for provider, model, *sums, spent, count in rows:
            for kind, total in zip(TOKEN_KINDS, sums, strict=True):
                tokens.add_metric([provider, model, kind], float(total or 0))
            cost.add_metric([provider, model], float(spent or 0))
            calls.add_metric([provider, model], float(count))
        yield from (tokens, cost, calls)


class EventsCollector(Collector):
    """Events this process published, by type, read from the bus's counters at scrape time."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "devmatrix_events_published", "Engine events published, by type.", labels=["type"]
        )
        for kind, count in sorted(self.bus.published.items()):
            family.add_metric([kind], count)
        yield family


def install_metrics(app: FastAPI, bus: EventBus, engine: Engine) -> None:
    """Serve `/api/v1/metrics`: this process's request metrics plus `engine` usage and `bus` events."""
    registry = CollectorRegistry()
    for collector in (HTTP_REQUESTS, HTTP_LATENCY, UsageCollector(engine), EventsCollector(bus)):
        registry.register(collector)

    @app.get("/api/v1/metrics", tags=["metrics"], response_class=Response)
    def metrics() -> Response:
        """Prometheus text exposition of the server's metrics."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
