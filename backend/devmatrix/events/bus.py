"""The event bus: publish persists an `EventRecord` then fans out; subscribe replays then streams.

Subscribing registers for live events first, replays stored events after the client's last id,
then drains live events skipping ids already sent, so a reconnecting client misses nothing and
sees nothing twice. A subscriber that falls too far behind is not buffered without bound: it is
marked lagged and catches up from the database, which holds every event anyway.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, func, insert
from sqlmodel import col, select

from devmatrix.events.types import EngineEvent, StoredEvent
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import EventRecord, table_of, utcnow

REPLAY_PAGE = 500
EVENTS = table_of(EventRecord)
# Built once, executed with one row or many (then as one multi-row INSERT, ids in row order).
INSERT_EVENTS = insert(EVENTS).returning(EVENTS.c.id, sort_by_parameter_order=True)
MAX_PENDING = 1000  # live events buffered per subscriber before it is switched to catch-up


class _Lagged:
    """Queue marker: events were dropped for this subscriber; re-read them from the database."""


LAGGED = _Lagged()


@dataclass(eq=False)
class Subscriber:
    """One live subscription: its filter, its event loop and its queue of pending events."""

    plan_id: int | None
    team_id: int | None
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[StoredEvent | _Lagged] = field(default_factory=asyncio.Queue)
    lagged: bool = False


def _deliver(sub: Subscriber, item: StoredEvent | _Lagged) -> None:
    # Runs on the subscriber's own loop, so `lagged` is only touched from one thread.
    if sub.lagged:
        return
    if isinstance(item, _Lagged) or sub.queue.qsize() >= MAX_PENDING:
        sub.lagged = True
        sub.queue.put_nowait(LAGGED)
        return
    sub.queue.put_nowait(item)


def _deliver_all(subs: list[Subscriber], item: StoredEvent | _Lagged) -> None:
    for sub in subs:
        _deliver(sub, item)


class Fanout:
    """The subscribers of this process, fed from any thread."""

    def __init__(self) -> None:
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()

    def add(self, sub: Subscriber) -> None:
        """Start delivering matching events to `sub`."""
        with self._lock:
            self._subs.add(sub)

    def remove(self, sub: Subscriber) -> None:
        """Stop delivering to `sub`."""
        with self._lock:
            self._subs.discard(sub)

    def __len__(self) -> int:
        return len(self._subs)

    def dispatch(self, event: StoredEvent) -> None:
        """Queue `event` for every subscriber whose filter matches."""
        self._send(event)

    def mark_all_lagged(self) -> None:
        """Live delivery was interrupted (e.g. Redis reconnect): every subscriber re-reads the log."""
        self._send(LAGGED)

    def _send(self, item: StoredEvent | _Lagged) -> None:
        with self._lock:
            subs = list(self._subs)
        # One wake-up per event loop, not per subscriber: 100 subscribers cost one hand-over.
        by_loop: dict[asyncio.AbstractEventLoop, list[Subscriber]] = {}
        for sub in subs:
            if isinstance(item, StoredEvent) and not item.matches(sub.plan_id, sub.team_id):
                continue
            by_loop.setdefault(sub.loop, []).append(sub)
        for loop, group in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver_all, group, item)
            except RuntimeError:  # the loop is closed: its subscribers can never read again
                for sub in group:
                    self.remove(sub)


def store_event(engine: Engine, event: EngineEvent) -> StoredEvent:
    """Persist `event` as an `EventRecord` in its own transaction and return it with its id."""
    with engine.begin() as connection:
        return store_events(connection, [event])[0]


def store_events(connection: Connection, events: Sequence[EngineEvent]) -> list[StoredEvent]:
    """Insert `events` in the caller's transaction, in order; returns them with their ids.

    One Core INSERT ... RETURNING for all of them: events are written on the hot path, in the
    same transaction as the state change they report.
    """
    if not events:
        return []
    now = utcnow()
    rows = [
        {
            "plan_id": event.plan_id,
            "team_id": event.team_id,
            "type": str(getattr(event, "type", "event")),
            "payload": event.payload,
            "created_at": now,
        }
        for event in events
    ]
    ids = connection.execute(INSERT_EVENTS, rows[0] if len(rows) == 1 else rows).scalars().all()
    return [StoredEvent(id=int(new_id), **row) for new_id, row in zip(ids, rows, strict=True)]


def load_events_after(
    engine: Engine,
    after_id: int,
    *,
    plan_id: int | None = None,
    team_id: int | None = None,
    limit: int = REPLAY_PAGE,
) -> list[StoredEvent]:
    """Stored events with id > `after_id` matching the filter, oldest first, at most `limit`."""
    query = select(EventRecord).where(col(EventRecord.id) > after_id)
    if plan_id is not None:
        query = query.where(EventRecord.plan_id == plan_id)
    if team_id is not None:
        query = query.where(EventRecord.team_id == team_id)
    query = query.order_by(col(EventRecord.id)).limit(limit)
    with session_scope(engine) as session:
        return [_to_stored(r) for r in session.exec(query)]


def latest_event_id(engine: Engine) -> int:
    """The newest stored event id, 0 when the log is empty."""
    with session_scope(engine) as session:
        return int(session.exec(select(func.max(EventRecord.id))).one() or 0)


def _to_stored(record: EventRecord) -> StoredEvent:
    assert record.id is not None
    return StoredEvent(
        id=record.id,
        type=record.type,
        plan_id=record.plan_id,
        team_id=record.team_id,
        payload=dict(record.payload),
        created_at=record.created_at,
    )


class EventBus:
    """Publish/subscribe over the event log; subclasses choose how live events travel."""

    implementation = "in-process"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.fanout = Fanout()
        self.published: Counter[str] = Counter()  # by event type, read by the metrics endpoint
        self._publish_lock = threading.Lock()

    def publish(self, event: EngineEvent) -> int:
        """Persist `event`, deliver it to live subscribers, and return its id."""
        # One publisher at a time per process keeps live order equal to id order here.
        with self._publish_lock:
            stored = store_event(self.engine, event)
            self._broadcast(stored)
        self.published[stored.type] += 1
        return stored.id

    @contextmanager
    def transaction(self, events: Sequence[EngineEvent]) -> Iterator[Connection]:
        """A transaction for a state change that also stores the `events` reporting it.

        The change and its events commit together (or neither does), in one round of BEGIN and
        COMMIT; the events reach live subscribers only after the commit.
        """
        with self._publish_lock:
            with self.engine.begin() as connection:
                yield connection
                stored = store_events(connection, events)
            for event in stored:
                self._broadcast(event)
        for event in stored:
            self.published[event.type] += 1

    async def publish_async(self, event: EngineEvent) -> int:
        """`publish` from async code without blocking the event loop on the database write."""
        return await asyncio.to_thread(self.publish, event)

    def _broadcast(self, stored: StoredEvent) -> None:
        self.fanout.dispatch(stored)

    async def _ready(self) -> None:
        """Wait until live delivery to this process is certain (no-op in-process)."""

    def close(self) -> None:
        """Release connections and threads (no-op in-process)."""

    def check(self) -> str:
        """Raise if the bus cannot work; return a one-line description for the doctor."""
        load_events_after(self.engine, 0, limit=1)
        return "events stored in the database, fanned out in this process"

    async def subscribe(
        self,
        plan_id: int | None = None,
        after_id: int | None = None,
        *,
        team_id: int | None = None,
    ) -> AsyncGenerator[StoredEvent, None]:
        """Stored events after `after_id` (None: from now), then live ones, no gap or duplicate."""
        sub = Subscriber(plan_id, team_id, asyncio.get_running_loop())
        self.fanout.add(sub)  # live first, so nothing published during the replay is lost
        try:
            await self._ready()
            if after_id is None:  # "from now": everything after the newest stored id
                after_id = await asyncio.to_thread(latest_event_id, self.engine)
            last = after_id
            async for event in self._replay(sub, after_id):
                last = event.id
                yield event
            while True:
                item = await sub.queue.get()
                if isinstance(item, _Lagged):
                    sub.lagged = False  # new events queue again; the log covers what was dropped
                    async for event in self._replay(sub, last):
                        last = event.id
                        yield event
                    continue
                if item.id <= last:
                    continue  # already sent by the replay
                last = item.id
                yield item
        finally:
            self.fanout.remove(sub)

    async def _replay(self, sub: Subscriber, after_id: int) -> AsyncIterator[StoredEvent]:
        while True:
            page = await asyncio.to_thread(
                load_events_after, self.engine, after_id, plan_id=sub.plan_id, team_id=sub.team_id
            )
            for event in page:
                after_id = event.id
                yield event
            if len(page) < REPLAY_PAGE:
                return
