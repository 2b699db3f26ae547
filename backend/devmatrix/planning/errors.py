"""Errors of planning: a spec that cannot be read, a model answer that never validated, a plan
that cannot run yet."""

from __future__ import annotations

from devmatrix.errors import DevMatrixError


class PlanningError(DevMatrixError):
    """Planning could not produce a valid result; `problems` lists what was wrong, one per line."""

    def __init__(self, message: str, hint: str | None = None, *, problems: list[str] | None = None):
        self.summary = message
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message, hint)


class InvalidSpec(PlanningError):
    """The spec is empty, too short, binary or otherwise not a description of software."""


class PlanNotRunnable(PlanningError):
    """The plan is not approved at its current version."""
