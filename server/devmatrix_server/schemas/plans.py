"""MasterPlans, their tasks, versions and history, atoms, graphs and validation results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TASK_CODE = r"^T[0-9]{1,4}$"
PATH_TEXT = r"^[^\x00-\x1f\x7f]+$"
TEXT_PATTERN = r"^[^\x00]*$"


class PlanCreate(BaseModel):
    """A spec in plain language; discovery, planning and atom planning run on it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"spec": "A tiny calc library: add and mul, tested."}]},
    )
    spec: str = Field(min_length=1, max_length=100_000, pattern=TEXT_PATTERN)


class PlanPublic(BaseModel):
    """A MasterPlan's header: status, versions, owner and team."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4,
                    "team_id": 1,
                    "owner_id": 1,
                    "title": "calc",
                    "status": "approved",
                    "version": 2,
                    "approved_version": 2,
                    "created_at": "2026-01-01T12:00:00Z",
                    "updated_at": "2026-01-01T12:05:00Z",
                }
            ]
        }
    )
    id: int
    team_id: int | None
    owner_id: int | None
    title: str
    status: str
    version: int
    approved_version: int | None
    created_at: datetime
    updated_at: datetime


class PlanDetail(PlanPublic):
    """A plan with requirements, phases -> milestones -> tasks -> atoms, graph and counts."""

    discovery: dict[str, Any] | None
    plan: dict[str, Any]
    graph: dict[str, Any]
    counts: dict[str, int]


class TaskPublic(BaseModel):
    """One task of the current version."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "T1",
                    "title": "add",
                    "description": "",
                    "requirements": ["REQ-1"],
                    "target_files": ["calc/ops.py"],
                    "depends_on": [],
                }
            ]
        }
    )
    code: str
    title: str
    description: str
    requirements: list[str]
    target_files: list[str]
    depends_on: list[str]


class TaskEdit(BaseModel):
    """Fields of a task to change; omitted fields stay."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title": "add two integers"}]}
    )
    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=PATH_TEXT)
    description: str | None = Field(default=None, max_length=10_000, pattern=TEXT_PATTERN)
    requirements: list[str] | None = Field(default=None, max_length=100)
    target_files: list[str] | None = Field(default=None, min_length=1, max_length=100)
    depends_on: list[str] | None = Field(default=None, max_length=100)


class TaskAdd(BaseModel):
    """A new task, placed after task `after` (or at the end of `milestone` / the plan)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"title": "README", "target_files": ["README.md"], "after": "T2"}]
        },
    )
    title: str = Field(min_length=1, max_length=200, pattern=PATH_TEXT)
    description: str = Field(default="", max_length=10_000, pattern=TEXT_PATTERN)
    requirements: list[str] = Field(default_factory=list, max_length=100)
    target_files: list[str] = Field(min_length=1, max_length=100)
    depends_on: list[str] = Field(default_factory=list, max_length=100)
    after: str | None = Field(default=None, pattern=TASK_CODE)
    milestone: str | None = Field(default=None, min_length=1, max_length=200)


class TaskOrder(BaseModel):
    """Every task code of the plan in the new order."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"order": ["T2", "T1"]}]}
    )
    order: list[str] = Field(min_length=1, max_length=1000)


class PlanVersionPublic(BaseModel):
    """A full snapshot of a plan at one version."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "plan_id": 4,
                    "version": 1,
                    "status": "draft",
                    "note": "generated",
                    "created_at": "2026-01-01T12:00:00Z",
                    "plan": {"title": "calc", "phases": [], "dependencies": []},
                }
            ]
        }
    )
    plan_id: int
    version: int
    status: str
    note: str
    created_at: datetime
    plan: dict[str, Any]


class HistoryPublic(BaseModel):
    """One change of a plan: edit, reorder, drop, add or approve."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "version": 2,
                    "action": "approve",
                    "detail": {},
                    "actor_id": 1,
                    "created_at": "2026-01-01T12:05:00Z",
                }
            ]
        }
    )
    id: int
    version: int
    action: str
    detail: dict[str, Any]
    actor_id: int | None
    created_at: datetime


class AtomPublic(BaseModel):
    """An atom of a plan: contract, state and current code."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "key": "calc/ops.py::add",
                    "file": "calc/ops.py",
                    "qualified_name": "add",
                    "kind": "function",
                    "signature": "def add(a: int, b: int) -> int:",
                    "intent": "sum of a and b",
                    "uses": [],
                    "requirement_codes": ["REQ-1"],
                    "status": "validated",
                    "code": "def add(a: int, b: int) -> int:\n    return a + b\n",
                    "start_line": 1,
                    "end_line": 2,
                    "confidence": 0.92,
                    "attempts": 1,
                    "last_error": None,
                }
            ]
        }
    )
    id: int
    key: str
    file: str
    qualified_name: str
    kind: str
    signature: str
    intent: str
    uses: list[str]
    requirement_codes: list[str]
    status: str
    code: str | None
    start_line: int | None
    end_line: int | None
    confidence: float | None
    attempts: int
    last_error: str | None


class EdgePublic(BaseModel):
    """`source` uses a symbol that `target` defines."""

    source: str
    target: str


class GraphPublic(BaseModel):
    """A plan's atom dependency graph: edges (user -> used) and display-only waves."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "plan_id": 4,
                    "node_count": 2,
                    "edge_count": 1,
                    "longest_chain": 2,
                    "cycles": [],
                    "edges": [
                        {"source": "tests/test_ops.py::test_add", "target": "calc/ops.py::add"}
                    ],
                    "waves": [["calc/ops.py::add"], ["tests/test_ops.py::test_add"]],
                }
            ]
        }
    )
    plan_id: int
    node_count: int
    edge_count: int
    longest_chain: int
    cycles: list[Any]
    edges: list[EdgePublic]
    waves: list[list[str]]


class AtomizeRequest(BaseModel):
    """Source files to atomize, by relative path."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "files": {
                        "calc/ops.py": "def add(a, b):\n    return a + b\n",
                        "calc/mul.py": "from calc.ops import add\n\ndef mul(a, b):\n    return add(a, b)\n",
                    }
                }
            ]
        },
    )
    files: dict[str, str] = Field(min_length=1, max_length=200)


class CodeAtomPublic(BaseModel):
    """One atom found in uploaded code."""

    id: str
    file: str
    qualified_name: str
    kind: str
    start_line: int
    end_line: int
    signature: str


class AtomizeResult(BaseModel):
    """Atoms, edges and waves of uploaded code, and files that could not be read."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "atoms": [
                        {
                            "id": "calc/ops.py::add",
                            "file": "calc/ops.py",
                            "qualified_name": "add",
                            "kind": "function",
                            "start_line": 1,
                            "end_line": 2,
                            "signature": "def add(a, b):",
                        }
                    ],
                    "edges": [{"source": "calc/mul.py::mul", "target": "calc/ops.py::add"}],
                    "waves": [["calc/ops.py::add"], ["calc/mul.py::mul"]],
                    "cycles": [],
                    "problems": [],
                }
            ]
        }
    )

    atoms: list[CodeAtomPublic]
    edges: list[EdgePublic]
    waves: list[list[str]]
    cycles: list[list[str]]
    problems: list[str]


class ValidationPublic(BaseModel):
    """One check at one level (1 atom, 2 task, 3 milestone, 4 plan)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 9,
                    "plan_id": 4,
                    "atom_id": 1,
                    "task_id": 1,
                    "run_id": 1,
                    "level": 1,
                    "code": "L1-ok",
                    "passed": True,
                    "message": "",
                    "file": "calc/ops.py",
                    "line": 1,
                    "created_at": "2026-01-01T12:06:00Z",
                }
            ]
        }
    )
    id: int
    plan_id: int
    atom_id: int | None
    task_id: int | None
    run_id: int | None
    level: int
    code: str
    passed: bool
    message: str
    file: str | None
    line: int | None
    created_at: datetime
