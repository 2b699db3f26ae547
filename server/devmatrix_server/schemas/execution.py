"""Runs, acceptance tests, the acceptance gate and traceability chains as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RunStatus(BaseModel):
    """A plan's latest run: `running`, `paused`, `finished`, `failed`, `cancelled` or `stalled`
    (a run whose process stopped beating); `idle` when the plan never ran."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "plan_id": 4,
                    "run_id": 1,
                    "status": "running",
                    "started_at": "2026-01-01T12:06:00Z",
                    "finished_at": None,
                    "cost_usd": 0.0132,
                    "summary": {"total": 4, "done": 2},
                }
            ]
        }
    )
    plan_id: int
    run_id: int | None = None
    status: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cost_usd: float = 0.0
    summary: dict[str, Any] = Field(default_factory=dict)


class AcceptanceTestPublic(BaseModel):
    """A test derived from one requirement, with its latest result."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "requirement_code": "REQ-1",
                    "name": "test_req_1",
                    "file": "tests/acceptance/test_req_1.py",
                    "code": "def test_req_1():\n    assert add(2, 3) == 5\n",
                    "passed": True,
                    "output": "",
                }
            ]
        }
    )
    id: int
    requirement_code: str
    name: str
    file: str
    code: str
    passed: bool | None
    output: str


class AcceptanceGate(BaseModel):
    """The verdict per requirement from the plan's latest finished run; `passed` needs them all."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "plan_id": 4,
                    "run_id": 1,
                    "passed": True,
                    "verdicts": {"REQ-1": "passed", "REQ-2": "passed"},
                }
            ]
        }
    )
    plan_id: int
    run_id: int | None
    passed: bool
    verdicts: dict[str, Any]


class AtomTracePublic(BaseModel):
    """One atom in a chain, with its latest check result at each level."""

    key: str
    kind: str
    status: str
    confidence: float | None
    levels: dict[str, bool]


class AcceptanceVerdict(BaseModel):
    """An acceptance test file and whether it passed in its latest result."""

    file: str
    passed: bool | None


class RequirementTracePublic(BaseModel):
    """requirement -> tasks -> atoms -> tests -> verdicts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "plan_id": 4,
                    "code": "REQ-1",
                    "text": "add two integers",
                    "criteria": ["add(2, 3) == 5"],
                    "tasks": ["T1"],
                    "atoms": [
                        {
                            "key": "calc/ops.py::add",
                            "kind": "function",
                            "status": "validated",
                            "confidence": 0.9,
                            "levels": {"1": True, "2": True},
                        }
                    ],
                    "tests": ["tests/test_ops.py::test_add"],
                    "acceptance": [{"file": "tests/acceptance/test_req_1.py", "passed": True}],
                }
            ]
        }
    )
    plan_id: int
    code: str
    text: str
    criteria: list[str]
    tasks: list[str]
    atoms: list[AtomTracePublic]
    tests: list[str]
    acceptance: list[AcceptanceVerdict]
