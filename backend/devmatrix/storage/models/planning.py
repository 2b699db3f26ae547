"""What to build: discovery documents, requirements, MasterPlans with phases, milestones, tasks,
and their versions and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from devmatrix.storage.models.base import created_at_field, json_field


class DiscoveryDocument(SQLModel, table=True):
    """The structured reading of a spec: requirements, entities, constraints."""

    __tablename__ = "discovery_document"
    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE", index=True)
    owner_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    title: str = Field(default="", max_length=200)
    spec: str
    entities: list[Any] = json_field(list)
    constraints: list[Any] = json_field(list)
    created_at: datetime = created_at_field()


class Requirement(SQLModel, table=True):
    """One numbered requirement (REQ-1...) with its acceptance criteria."""

    __tablename__ = "requirement"
    __table_args__ = (UniqueConstraint("discovery_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    discovery_id: int = Field(foreign_key="discovery_document.id", ondelete="CASCADE", index=True)
    code: str = Field(max_length=16)
    text: str
    acceptance_criteria: list[str] = json_field(list)


class MasterPlan(SQLModel, table=True):
    """A versioned plan of phases, milestones and tasks; only an approved plan can run."""

    __tablename__ = "masterplan"
    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE", index=True)
    owner_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    discovery_id: int | None = Field(
        default=None, foreign_key="discovery_document.id", ondelete="SET NULL"
    )
    title: str = Field(max_length=200)
    status: str = Field(default="draft", max_length=16, index=True)
    version: int = 1
    approved_version: int | None = None
    output_dir: str | None = None
    budget_usd: float | None = None
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class MasterPlanPhase(SQLModel, table=True):
    """Setup, Core or Polish."""

    __tablename__ = "masterplan_phase"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE", index=True)
    position: int
    name: str = Field(max_length=100)


class MasterPlanMilestone(SQLModel, table=True):
    """A checkpoint inside a phase; L3 validation runs when its tasks are done."""

    __tablename__ = "masterplan_milestone"
    __table_args__ = (UniqueConstraint("phase_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    phase_id: int = Field(foreign_key="masterplan_phase.id", ondelete="CASCADE", index=True)
    position: int
    name: str = Field(max_length=200)


class MasterPlanTask(SQLModel, table=True):
    """A unit of planned work: its requirements, target files and the tasks it depends on."""

    __tablename__ = "masterplan_task"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE", index=True)
    milestone_id: int = Field(foreign_key="masterplan_milestone.id", ondelete="CASCADE", index=True)
    code: str = Field(max_length=16)
    position: int
    title: str = Field(max_length=200)
    description: str = ""
    requirement_codes: list[str] = json_field(list)
    target_files: list[str] = json_field(list)
    depends_on: list[str] = json_field(list)
    status: str = Field(default="pending", max_length=16)


class MasterPlanVersion(SQLModel, table=True):
    """A full snapshot of a plan at one version; old versions stay readable."""

    __tablename__ = "masterplan_version"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE", index=True)
    version: int
    snapshot: dict[str, Any] = json_field(dict)
    author_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    note: str = ""
    created_at: datetime = created_at_field()


class MasterPlanHistory(SQLModel, table=True):
    """What changed a plan (edit, reorder, drop, add, approve), by whom and when."""

    __tablename__ = "masterplan_history"
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE", index=True)
    version: int
    action: str = Field(max_length=32)
    detail: dict[str, Any] = json_field(dict)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
