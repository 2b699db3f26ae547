"""The typed events the engine publishes, and the stored form every subscriber receives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class EngineEvent(BaseModel):
    """What every event carries: the plan and team it belongs to, and a JSON payload."""

    model_config = ConfigDict(frozen=True)
    plan_id: int | None = None
    team_id: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class PlanCreated(EngineEvent):
    """A MasterPlan was created from a spec."""

    type: Literal["plan_created"] = "plan_created"


class PlanUpdated(EngineEvent):
    """A MasterPlan was edited (new version)."""

    type: Literal["plan_updated"] = "plan_updated"


class PlanApproved(EngineEvent):
    """A person approved a MasterPlan version; it may now run."""

    type: Literal["plan_approved"] = "plan_approved"


class AtomsCreated(EngineEvent):
    """Tasks were cut into atoms."""

    type: Literal["atoms_created"] = "atoms_created"


class RunStarted(EngineEvent):
    """An execution run began (or resumed)."""

    type: Literal["run_started"] = "run_started"


class RunPaused(EngineEvent):
    """An execution run was paused."""

    type: Literal["run_paused"] = "run_paused"


class RunProgress(EngineEvent):
    """Counts of done / failed / pending atoms of a run."""

    type: Literal["run_progress"] = "run_progress"


class RunFinished(EngineEvent):
    """An execution run ended (succeeded, failed or cancelled; see payload)."""

    type: Literal["run_finished"] = "run_finished"


class AtomStarted(EngineEvent):
    """Generation of one atom began."""

    type: Literal["atom_started"] = "atom_started"


class AtomValidated(EngineEvent):
    """An atom passed validation."""

    type: Literal["atom_validated"] = "atom_validated"


class AtomFailed(EngineEvent):
    """An atom failed validation or generation (payload says why and whether it retries)."""

    type: Literal["atom_failed"] = "atom_failed"


class ReviewNeeded(EngineEvent):
    """An atom went to the review queue."""

    type: Literal["review_needed"] = "review_needed"


class ReviewResolved(EngineEvent):
    """A review item was approved, rejected or edited."""

    type: Literal["review_resolved"] = "review_resolved"


class AcceptanceFinished(EngineEvent):
    """Acceptance tests ran and the gate gave its verdicts."""

    type: Literal["acceptance_finished"] = "acceptance_finished"


Event = Annotated[
    PlanCreated
    | PlanUpdated
    | PlanApproved
    | AtomsCreated
    | RunStarted
    | RunPaused
    | RunProgress
    | RunFinished
    | AtomStarted
    | AtomValidated
    | AtomFailed
    | ReviewNeeded
    | ReviewResolved
    | AcceptanceFinished,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: dict[str, Any]) -> Event:
    """Build the typed event named by `data["type"]`; an unknown type raises pydantic's error."""
    return EVENT_ADAPTER.validate_python(data)


class StoredEvent(BaseModel):
    """An event as persisted and delivered: with its increasing `id` and creation time."""

    model_config = ConfigDict(frozen=True)
    id: int
    type: str
    plan_id: int | None
    team_id: int | None
    payload: dict[str, Any]
    created_at: datetime

    def matches(self, plan_id: int | None, team_id: int | None) -> bool:
        """Whether a subscriber filtering on `plan_id` / `team_id` (None = any) wants this event."""
        return (plan_id is None or self.plan_id == plan_id) and (
            team_id is None or self.team_id == team_id
        )
