"""How it is built: atoms, their dependency graph and waves, runs, attempts, validation results,
review items and acceptance tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from devmatrix.storage.models.base import created_at_field, json_field


class Atom(SQLModel, table=True):
    """One top-level symbol of about ten lines: its contract, its current code and its state."""

    __tablename__ = "atom"
    __table_args__ = (
        UniqueConstraint("plan_id", "key"),
        Index("ix_atom_plan_status", "plan_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE")
    task_id: int | None = Field(
        default=None, foreign_key="masterplan_task.id", ondelete="CASCADE", index=True
    )
    key: str = Field(max_length=400)  # "<file>::<qualified name>", stable across versions
    file: str = Field(max_length=300)
    qualified_name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    signature: str = ""
    intent: str = ""
    uses: list[str] = json_field(list)
    requirement_codes: list[str] = json_field(list)
    position: int = 0
    # Lines of body the plan asks for: the scheduler's estimate of how long the atom takes.
    size_target: int = 10
    status: str = Field(default="pending", max_length=16)
    code: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    confidence: float | None = None
    attempts: int = 0
    last_error: str | None = None
    updated_at: datetime = created_at_field()


class AtomDependency(SQLModel, table=True):
    """An edge: `to_atom` uses a symbol that `from_atom` defines. One edge per atom pair."""

    __tablename__ = "atom_dependency"
    __table_args__ = (UniqueConstraint("from_atom_id", "to_atom_id"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE", index=True)
    from_atom_id: int = Field(foreign_key="atom.id", ondelete="CASCADE")
    to_atom_id: int = Field(foreign_key="atom.id", ondelete="CASCADE", index=True)
    symbol: str = Field(default="", max_length=200)


class DependencyGraph(SQLModel, table=True):
    """Summary of a plan's atom graph: size, cycles, longest chain."""

    __tablename__ = "dependency_graph"
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE", unique=True)
    node_count: int = 0
    edge_count: int = 0
    longest_chain: int = 0
    cycles: list[Any] = json_field(list)
    created_at: datetime = created_at_field()


class ExecutionWave(SQLModel, table=True):
    """A topological generation, for display only: never a barrier. One number per graph."""

    __tablename__ = "execution_wave"
    __table_args__ = (UniqueConstraint("graph_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    graph_id: int = Field(foreign_key="dependency_graph.id", ondelete="CASCADE")
    number: int
    atom_keys: list[str] = json_field(list)


class ExecutionRun(SQLModel, table=True):
    """One execution of a plan; the heartbeat tells a live run from a dead one."""

    __tablename__ = "execution_run"
    __table_args__ = (Index("ix_execution_run_plan_status", "plan_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE")
    status: str = Field(default="running", max_length=16)
    concurrency: int = 8
    pid: int | None = None
    host: str | None = Field(default=None, max_length=255)
    started_at: datetime = created_at_field()
    heartbeat_at: datetime = created_at_field()
    finished_at: datetime | None = None
    cost_usd: float = 0.0
    summary: dict[str, Any] = json_field(dict)


class AtomAttempt(SQLModel, table=True):
    """One generation of an atom: the answer, what validation said, the feedback for the next try."""

    __tablename__ = "atom_attempt"
    __table_args__ = (UniqueConstraint("atom_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    atom_id: int = Field(foreign_key="atom.id", ondelete="CASCADE")
    run_id: int | None = Field(default=None, foreign_key="execution_run.id", ondelete="SET NULL")
    number: int
    source: str = Field(default="model", max_length=16)  # model | human
    code: str = ""
    outcome: str = Field(default="pending", max_length=16)
    feedback: str | None = None
    # The request sent to the model, stored before the call: a resumed run re-sends exactly it, so
    # an answer already paid for comes back from the cache instead of being generated again.
    request: dict[str, Any] = json_field(dict)
    created_at: datetime = created_at_field()


class ValidationResult(SQLModel, table=True):
    """One check at one level (1 atom, 2 task, 3 milestone, 4 plan), mapped to an atom if it can be."""

    __tablename__ = "validation_result"
    __table_args__ = (Index("ix_validation_result_plan_level", "plan_id", "level"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE")
    atom_id: int | None = Field(default=None, foreign_key="atom.id", ondelete="CASCADE", index=True)
    task_id: int | None = Field(default=None, foreign_key="masterplan_task.id", ondelete="CASCADE")
    run_id: int | None = Field(default=None, foreign_key="execution_run.id", ondelete="SET NULL")
    level: int
    code: str = Field(max_length=48)  # e.g. L1-undefined-name, L2-test-failed
    passed: bool
    message: str = ""
    file: str | None = Field(default=None, max_length=300)
    line: int | None = None
    details: dict[str, Any] = json_field(dict)
    created_at: datetime = created_at_field()


class ReviewItem(SQLModel, table=True):
    """A low-confidence or failed atom waiting for a person: approve, reject with reason, or edit."""

    __tablename__ = "review_item"
    __table_args__ = (Index("ix_review_item_plan_status", "plan_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE")
    atom_id: int = Field(foreign_key="atom.id", ondelete="CASCADE", index=True)
    status: str = Field(default="open", max_length=16)
    reason: str = ""
    confidence: float = 0.0
    proposed_code: str = ""
    previous_code: str = ""
    diff: str = ""
    validator_output: str = ""
    resolution_note: str | None = None
    resolved_by: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
    resolved_at: datetime | None = None


class AcceptanceTest(SQLModel, table=True):
    """A test derived from one requirement's acceptance criteria."""

    __tablename__ = "acceptance_test"
    __table_args__ = (UniqueConstraint("plan_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="masterplan.id", ondelete="CASCADE")
    requirement_code: str = Field(max_length=16, index=True)
    name: str = Field(max_length=200)
    file: str = Field(max_length=300)
    code: str
    created_at: datetime = created_at_field()


class AcceptanceTestResult(SQLModel, table=True):
    """One execution of an acceptance test."""

    __tablename__ = "acceptance_test_result"
    id: int | None = Field(default=None, primary_key=True)
    test_id: int = Field(foreign_key="acceptance_test.id", ondelete="CASCADE", index=True)
    run_id: int | None = Field(default=None, foreign_key="execution_run.id", ondelete="SET NULL")
    passed: bool
    output: str = ""
    created_at: datetime = created_at_field()
