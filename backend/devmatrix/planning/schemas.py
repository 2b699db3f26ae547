"""The shapes the model must answer in: discovery, MasterPlan and atom plans (pydantic).

These are the structured-output contracts of planning. Their JSON schema is sent with the request
and every answer is validated against them before anything is saved.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

REQUIREMENT_CODE = r"^REQ-[1-9][0-9]*$"
TASK_CODE = r"^T[1-9][0-9]*$"
PHASE_NAMES = ("Setup", "Core", "Polish")
PhaseName = Literal["Setup", "Core", "Polish"]
AtomKind = Literal["function", "method", "class", "constants", "test"]


class _Strict(BaseModel):
    # Unknown keys are an error so a misspelt field is fed back instead of silently dropped.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RequirementSpec(_Strict):
    """One numbered requirement and how to tell it is met."""

    code: str = Field(pattern=REQUIREMENT_CODE, description="REQ-1, REQ-2, ... in order")
    text: str = Field(min_length=3)
    acceptance_criteria: list[str] = Field(min_length=1)


class DiscoverySpec(_Strict):
    """The structured reading of a spec."""

    title: str = Field(min_length=1, max_length=200)
    requirements: list[RequirementSpec] = Field(min_length=1)
    entities: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)


class TaskSpec(_Strict):
    """One unit of planned work."""

    code: str = Field(pattern=TASK_CODE, description="T1, T2, ... unique in the plan")
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    requirements: list[str] = Field(default_factory=list, description="requirement codes served")
    target_files: list[str] = Field(min_length=1, description="relative paths, e.g. app/models.py")
    depends_on: list[str] = Field(default_factory=list, description="codes of earlier tasks")


class MilestoneSpec(_Strict):
    """A checkpoint inside a phase."""

    name: str = Field(min_length=1, max_length=200)
    tasks: list[TaskSpec] = Field(default_factory=list)


class PhaseSpec(_Strict):
    """Setup, Core or Polish."""

    name: PhaseName
    milestones: list[MilestoneSpec] = Field(default_factory=list)


class PlanSpec(_Strict):
    """A MasterPlan: phases -> milestones -> tasks, plus the third-party packages it may import."""

    title: str = Field(min_length=1, max_length=200)
    phases: list[PhaseSpec] = Field(min_length=1)
    dependencies: list[str] = Field(
        default_factory=list, description="import names of third-party packages the code may use"
    )

    def tasks(self) -> list[TaskSpec]:
        """Every task in plan order."""
        return [t for p in self.phases for m in p.milestones for t in m.tasks]


class AtomSpec(_Strict):
    """One top-level symbol to generate: its contract, not its code."""

    file: str = Field(min_length=1, description="relative path of the file it lives in")
    qualified_name: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$",
        description="name in its file: func, Class, or Class.method",
    )
    kind: AtomKind
    signature: str = Field(min_length=1, description="def/class line, or NAME = ... for constants")
    intent: str = Field(min_length=1)
    uses: list[str] = Field(
        default_factory=list,
        description="symbols it uses: local names, pkg.mod.func, stdlib or declared packages",
    )
    requirements: list[str] = Field(default_factory=list)
    size_target: int = Field(default=10, ge=1, le=60, description="lines of body, about ten")


class AtomPlanSpec(_Strict):
    """The atoms of one task."""

    task: str = Field(pattern=TASK_CODE)
    atoms: list[AtomSpec] = Field(min_length=1)
