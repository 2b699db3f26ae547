"""Engine events: typed events, stored in the event log and streamed to subscribers.

`build_event_bus(settings, engine)` picks the in-process bus, or the Redis one when
`DEVMATRIX_REDIS_URL` is set so several server processes share one stream.
"""

from __future__ import annotations

from sqlalchemy import Engine

from devmatrix.config import Settings
from devmatrix.events.bus import EventBus, latest_event_id, load_events_after, store_event
from devmatrix.events.types import (
    AcceptanceFinished,
    AtomFailed,
    AtomsCreated,
    AtomStarted,
    AtomValidated,
    EngineEvent,
    Event,
    PlanApproved,
    PlanCreated,
    PlanUpdated,
    ReviewNeeded,
    ReviewResolved,
    RunFinished,
    RunPaused,
    RunProgress,
    RunStarted,
    StoredEvent,
    parse_event,
)


def build_event_bus(settings: Settings, engine: Engine) -> EventBus:
    """The event bus the settings select: Redis pub/sub when `redis_url` is set, else in-process."""
    if settings.redis_url:
        from devmatrix.events.redis_bus import RedisEventBus

        return RedisEventBus(engine, settings.redis_url, settings.events_channel)
    return EventBus(engine)


__all__ = [
    "AcceptanceFinished",
    "AtomFailed",
    "AtomStarted",
    "AtomValidated",
    "AtomsCreated",
    "EngineEvent",
    "Event",
    "EventBus",
    "PlanApproved",
    "PlanCreated",
    "PlanUpdated",
    "ReviewNeeded",
    "ReviewResolved",
    "RunFinished",
    "RunPaused",
    "RunProgress",
    "RunStarted",
    "StoredEvent",
    "build_event_bus",
    "latest_event_id",
    "load_events_after",
    "parse_event",
    "store_event",
]
