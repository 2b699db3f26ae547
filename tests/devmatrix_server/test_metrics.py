"""Prometheus scrape at /api/v1/metrics, and one parseable JSON log line per request."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from devmatrix.config import load_settings
from devmatrix.events import PlanCreated
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine
from devmatrix.storage.models import UsageRecord
from devmatrix_server.observability import configure_json_logging, install_ops


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine)
    settings = load_settings()
    app = FastAPI()
    app.state.settings = settings
    app.state.engine = engine
    install_ops(app, settings)

    @app.get("/api/v1/plans/{plan_id}")
    def read(plan_id: int) -> dict[str, Any]:
        logging.getLogger("devmatrix_server.test").info("reading plan %s", plan_id)
        return {"plan_id": plan_id}

    return app


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/api/v1/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_template_and_status(app: FastAPI) -> None:
    client = TestClient(app)
    labels = {"method": "GET", "route": "/api/v1/plans/{plan_id}", "status": "200"}
    before = scrape(client)
    client.get("/api/v1/plans/1")
    client.get("/api/v1/plans/2")
    client.get("/api/v1/nowhere/3")
    after = scrape(client)
    total = "devmatrix_http_requests_total"
    assert value(after, total, **labels) - value(before, total, **labels) == 2
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, total, **unmatched) - value(before, total, **unmatched) == 1
    count = "devmatrix_http_request_duration_seconds_count"
    timing = {"method": "GET", "route": "/api/v1/plans/{plan_id}"}
    assert value(after, count, **timing) - value(before, count, **timing) == 2


def test_llm_usage_and_published_events_are_exposed(app: FastAPI) -> None:
    client = TestClient(app)
    before = scrape(client)
    with Session(app.state.engine) as session:
        for tokens_in, spent in ((100, 0.2), (20, 0.05)):
            session.add(
                UsageRecord(
                    provider="scripted",
                    model="m-1",
                    input_tokens=tokens_in,
                    output_tokens=30,
                    cache_read_tokens=7,
                    cost_usd=spent,
                )
            )
        session.commit()
    app.state.event_bus.publish(PlanCreated())
    app.state.event_bus.publish(PlanCreated())
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    tokens = "devmatrix_llm_tokens_total"
    assert delta(tokens, provider="scripted", model="m-1", kind="input") == 120
    assert delta(tokens, provider="scripted", model="m-1", kind="output") == 60
    assert delta(tokens, provider="scripted", model="m-1", kind="cache_read") == 14
    assert delta("devmatrix_llm_cost_usd_total", provider="scripted", model="m-1") == 0.25
    assert delta("devmatrix_llm_calls_total", provider="scripted", model="m-1") == 2
    assert delta("devmatrix_events_published_total", type="plan_created") == 2


def test_log_lines_are_json_with_correlation_id(app: FastAPI) -> None:
    buffer = io.StringIO()
    configure_json_logging(stream=buffer)
    client = TestClient(app)
    client.get("/api/v1/plans/5", headers={"X-Correlation-ID": "corr-42"})
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    inside = [x for x in lines if x["message"] == "reading plan 5"]
    access = [x for x in lines if x["logger"] == "devmatrix.access"]
    assert len(inside) == 1
    assert inside[0]["correlation_id"] == "corr-42"
    assert len(access) == 1
    line = access[0]
    assert line["correlation_id"] == "corr-42"
    assert line["route"] == "/api/v1/plans/{plan_id}"
    assert line["status"] == 200
    assert line["level"] == "info"
    assert isinstance(line["duration_ms"], float)
    assert line["time"].endswith("+00:00")


def test_app_shutdown_closes_the_event_bus(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[bool] = []
    monkeypatch.setattr(app.state.event_bus, "close", lambda: closed.append(True))
    with TestClient(app) as client:
        assert client.get("/api/v1/metrics").status_code == 200
        assert closed == []
    assert closed == [True]


def test_websocket_tokens_are_masked_in_uvicorn_logs(app: FastAPI) -> None:
    buffer = io.StringIO()
    configure_json_logging(stream=buffer)
    seen = io.StringIO()
    handler = logging.StreamHandler(seen)
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(handler)
    try:
        uvicorn_log.warning(
            '%s - "WebSocket %s" [accepted]',
            "127.0.0.1:5000",
            "/api/v1/events?plan_id=3&token=eyJsecret.part.sig",
        )
    finally:
        uvicorn_log.removeHandler(handler)
    assert "eyJsecret" not in seen.getvalue()
    assert "/api/v1/events?plan_id=3&token=***" in seen.getvalue()
