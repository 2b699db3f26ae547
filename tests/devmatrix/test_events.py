"""The event bus on SQLite, PostgreSQL and Redis: replay + live with no gap, no duplicate."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, update
from sqlmodel import col, select

from devmatrix.config import load_settings
from devmatrix.doctor_checks import check_events
from devmatrix.events import (
    AtomFailed,
    AtomStarted,
    EventBus,
    PlanCreated,
    RunProgress,
    StoredEvent,
    build_event_bus,
    parse_event,
)
from devmatrix.events import bus as bus_module
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import EventRecord, MasterPlan, Team, table_of

BusFactory = Callable[[], EventBus]
MASTERPLAN = table_of(MasterPlan)


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, BusFactory]]:
    """An engine with one team and two plans, and a factory of buses sharing it (like processes)."""
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path / 'events.db'}"
    )
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        team = Team(name="t")
        session.add(team)
        session.flush()
        session.add_all(
            [MasterPlan(team_id=team.id, title="p1"), MasterPlan(team_id=team.id, title="p2")]
        )
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    settings = load_settings(redis_url=redis_url, events_channel=f"test:{uuid.uuid4().hex}")
    buses: list[EventBus] = []

    def make() -> EventBus:
        # In-process there is one bus per process; over Redis each bus stands for a process.
        if not buses or redis_url:
            buses.append(build_event_bus(settings, engine))
        return buses[-1]

    yield engine, make
    for bus in buses:
        bus.close()
    engine.dispose()


async def _take(stream: AsyncIterator[StoredEvent], n: int) -> list[StoredEvent]:
    got = []
    async with asyncio.timeout(10):
        async for event in stream:
            got.append(event)
            if len(got) == n:
                break
    return got


async def test_publish_stores_typed_event_and_returns_increasing_ids(
    backend: tuple[Engine, BusFactory],
) -> None:
    engine, make = backend
    bus = make()
    first = bus.publish(PlanCreated(plan_id=1, team_id=1, payload={"title": "p1"}))
    second = bus.publish(AtomFailed(plan_id=1, team_id=1, payload={"atom_id": 7, "reason": "L1"}))
    assert second > first
    with session_scope(engine) as session:
        rows = session.exec(select(EventRecord).order_by(col(EventRecord.id))).all()
    assert [(r.id, r.type, r.payload) for r in rows] == [
        (first, "plan_created", {"title": "p1"}),
        (second, "atom_failed", {"atom_id": 7, "reason": "L1"}),
    ]
    assert bus.published == {"plan_created": 1, "atom_failed": 1}


async def test_transaction_commits_a_change_with_its_events_or_neither(
    backend: tuple[Engine, BusFactory],
) -> None:
    engine, make = backend
    bus = make()
    stream = bus.subscribe(plan_id=1)
    waiter = asyncio.ensure_future(_take(stream, 2))
    await asyncio.sleep(0.3)  # let the subscription register (Redis: confirm its SUBSCRIBE)
    events = [AtomStarted(plan_id=1, team_id=1, payload={"n": n}) for n in range(2)]

    def failing_change() -> None:
        with bus.transaction(events) as connection:
            connection.execute(update(MASTERPLAN).values(title="lost"))
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    with bus.transaction(events) as connection:
        connection.execute(update(MASTERPLAN).where(MASTERPLAN.c.title == "p1").values(title="x"))
    got = await waiter
    await stream.aclose()
    with session_scope(engine) as session:
        titles = sorted(p.title for p in session.exec(select(MasterPlan)))
        rows = session.exec(select(EventRecord).order_by(EventRecord.id)).all()  # type: ignore[arg-type]
    assert titles == ["p2", "x"]  # the rolled-back change left nothing, the other is there
    assert [(r.id, r.payload) for r in rows] == [(e.id, e.payload) for e in got]
    assert [e.payload["n"] for e in got] == [0, 1]  # only the committed events, in order
    assert bus.published == {"atom_started": 2}


@pytest.mark.parametrize("backend", ["sqlite", "redis"], indirect=True)
async def test_live_subscriber_gets_only_its_plan(backend: tuple[Engine, BusFactory]) -> None:
    _, make = backend
    bus = make()
    bus.publish(AtomStarted(plan_id=1, team_id=1))  # before subscribing: not replayed ("from now")
    stream = bus.subscribe(plan_id=1)
    waiter = asyncio.ensure_future(_take(stream, 2))
    await asyncio.sleep(0.3)  # let the subscription register (Redis: confirm its SUBSCRIBE)
    ids = [
        bus.publish(AtomStarted(plan_id=2, team_id=1)),
        bus.publish(AtomStarted(plan_id=1, team_id=1, payload={"n": 1})),
        bus.publish(RunProgress(plan_id=1, team_id=1, payload={"done": 1})),
    ]
    got = await waiter
    await stream.aclose()
    assert [(e.id, e.plan_id, e.type) for e in got] == [
        (ids[1], 1, "atom_started"),
        (ids[2], 1, "run_progress"),
    ]
    assert (await bus.publish_async(RunProgress(plan_id=1, team_id=1))) > ids[2]


async def test_resume_after_disconnect_misses_nothing(backend: tuple[Engine, BusFactory]) -> None:
    _, make = backend
    bus = make()
    stream = bus.subscribe(plan_id=1, after_id=0)
    first = [bus.publish(AtomStarted(plan_id=1, team_id=1, payload={"n": n})) for n in range(3)]
    seen = await _take(stream, 3)
    await stream.aclose()  # the client disconnects
    gap = [bus.publish(AtomStarted(plan_id=1, team_id=1, payload={"n": n})) for n in range(3, 6)]
    resumed = bus.subscribe(plan_id=1, after_id=seen[-1].id)
    waiter = asyncio.ensure_future(_take(resumed, 5))
    await asyncio.sleep(0.3)
    later = [bus.publish(AtomStarted(plan_id=1, team_id=1, payload={"n": n})) for n in range(6, 8)]
    got = await waiter
    await resumed.aclose()
    assert [e.id for e in seen] == first
    assert [e.id for e in got] == gap + later
    assert [e.payload["n"] for e in got] == [3, 4, 5, 6, 7]


async def test_replay_racing_live_publishes_has_no_gap_and_no_duplicate(
    backend: tuple[Engine, BusFactory],
) -> None:
    _, make = backend
    publisher, reader = make(), make()  # two buses on one store: two server processes
    total = 120
    published: list[int] = []
    started = threading.Event()

    def publish_all() -> None:
        for n in range(total):
            published.append(publisher.publish(RunProgress(plan_id=1, team_id=1, payload={"n": n})))
            if n == 20:
                started.set()

    thread = threading.Thread(target=publish_all)
    thread.start()
    await asyncio.to_thread(started.wait, 10)
    got = await _take(reader.subscribe(plan_id=1, after_id=0), total)  # subscribes mid-stream
    thread.join()
    assert [e.id for e in got] == published
    assert [e.payload["n"] for e in got] == list(range(total))


@pytest.mark.parametrize("backend", ["sqlite", "redis"], indirect=True)
async def test_lagging_subscriber_catches_up_from_the_log(
    backend: tuple[Engine, BusFactory], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, make = backend
    monkeypatch.setattr(bus_module, "MAX_PENDING", 5)
    bus = make()
    stream = bus.subscribe(plan_id=1)
    first = asyncio.ensure_future(_take(stream, 1))
    await asyncio.sleep(0.3)
    ids = [bus.publish(AtomStarted(plan_id=1, team_id=1)) for _ in range(1)]
    got = await first
    # The consumer is idle while 40 events arrive: far more than its buffer of 5.
    ids += await asyncio.to_thread(
        lambda: [bus.publish(AtomStarted(plan_id=1, team_id=1)) for _ in range(40)]
    )
    await asyncio.sleep(0.3)
    got += await _take(stream, 40)
    await stream.aclose()
    assert [e.id for e in got] == ids


@pytest.mark.parametrize("backend", ["sqlite", "redis"], indirect=True)
async def test_team_filter_and_two_processes_share_the_stream(
    backend: tuple[Engine, BusFactory],
) -> None:
    engine, make = backend
    with session_scope(engine) as session:
        other = Team(name="other")
        session.add(other)
        session.flush()
        other_id = other.id
    a, b = make(), make()
    stream = b.subscribe(team_id=1)
    waiter = asyncio.ensure_future(_take(stream, 1))
    await asyncio.sleep(0.3)
    a.publish(PlanCreated(team_id=other_id))
    mine = a.publish(PlanCreated(team_id=1, plan_id=2))
    got = await waiter
    await stream.aclose()
    assert [(e.id, e.team_id) for e in got] == [(mine, 1)]


def test_parse_event_picks_the_class_by_type_and_refuses_unknown() -> None:
    event = parse_event({"type": "atom_failed", "plan_id": 3, "payload": {"reason": "x"}})
    assert isinstance(event, AtomFailed)
    assert event.plan_id == 3
    with pytest.raises(ValidationError):
        parse_event({"type": "no_such_event"})


def test_doctor_reports_events_part() -> None:
    assert check_events in doctor_checks_registered()
    row = check_events(load_settings())
    assert (row.part, row.implementation, row.ok) == ("events", "in-process", True)


def test_doctor_reports_unreachable_redis_as_failed() -> None:
    row = check_events(load_settings(redis_url="redis://127.0.0.1:1/0"))
    assert (row.part, row.implementation, row.ok) == ("events", "redis", False)
    assert "Error" in row.detail


def doctor_checks_registered() -> list[Callable[..., object]]:
    from devmatrix import doctor

    doctor._load_builtin_checks()
    return list(doctor._CHECKS)
