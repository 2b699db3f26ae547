"""Property-based fuzzing of the whole OpenAPI schema, authenticated as a team admin.

Every operation gets generated requests (schemathesis + hypothesis); no answer may be a 5xx and
every answer must match the schema the API publishes for it. Model-calling routes meet a spent
team quota, so they answer 429 without calling the model (the scripted answers would run out).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlmodel import col, select

from devmatrix.storage.models import Quota
from tests.devmatrix_server.conftest import PASSWORD, Api, _factory, _sqlite_url

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "execution"
MAX_EXAMPLES = 5


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> Iterator[Api]:
    """Team A (admin `alice`, user `bob`) with a drafted calc plan and a conversation; team B."""
    folder = tmp_path_factory.mktemp("fuzz")
    apps: list[Any] = []
    api = _factory(
        _sqlite_url(migrated_sqlite, folder),
        apps,
        data_dir=folder / "data",
        llm_provider="scripted",
        scripted_answers=FIXTURES / "calc_answers.json",
    )()
    api.register("alice")
    alice = api.headers("alice")
    api.register("bob", invite_token=api.invite(alice))
    api.register("carol", team_name="team-b")
    spec = (FIXTURES / "calc_spec.md").read_text(encoding="utf-8")
    assert api.client.post("/api/v1/plans", json={"spec": spec}, headers=alice).status_code == 201
    api.client.post("/api/v1/conversations", json={"title": "fuzz"}, headers=alice)
    spent = api.client.put("/api/v1/quotas/team", json={"max_tokens": 0}, headers=alice)
    assert spent.status_code == 200
    yield api
    for app in apps:
        app.state.engine.dispose()


def _fresh_login(api: Api) -> dict[str, str]:
    # A fuzzed logout or token revocation must not blind the following cases.
    answer = api.client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _spend_quota(api: Api) -> None:
    # A fuzzed PUT /quotas/team may lift the limit; every case starts with it spent again.
    with api.session() as session:
        quota = session.exec(select(Quota).where(col(Quota.team_id).is_not(None))).one()
        quota.max_tokens, quota.max_cost_usd, quota.max_runs = 0, 0.0, 0
        session.add(quota)
        session.commit()


def test_no_server_error_and_schema_conformance(fuzz_api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_api.app)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60  # the whole API, not a corner of it

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: Any) -> None:
            _spend_quota(fuzz_api)
            response = case.call_and_validate(
                headers=_fresh_login(fuzz_api),
                checks=[not_a_server_error, response_schema_conformance],
            )
            statuses[response.status_code] += 1

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 -- collected so one run reports every failing operation
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
    # Generated requests reached the handlers: successes, refusals and misses all occurred.
    assert {200, 201, 404, 422, 429} <= set(statuses), statuses
    assert sum(statuses.values()) >= len(operations) * 2
