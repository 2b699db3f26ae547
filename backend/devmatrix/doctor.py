"""`devmatrix doctor`: which implementation of each part is active, and whether it works."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from devmatrix.config import Settings


@dataclass(frozen=True)
class Check:
    """One part of the system: what is active and whether it answered."""

    part: str
    implementation: str
    ok: bool
    detail: str


CheckFn = Callable[[Settings], Check]
_CHECKS: list[CheckFn] = []


def register(fn: CheckFn) -> CheckFn:
    """Add a check to the doctor's list (decorator); parts register their own checks."""
    _CHECKS.append(fn)
    return fn


def run_checks(settings: Settings) -> list[Check]:
    """Run every registered check; a check that raises is reported as failed, not hidden."""
    _load_builtin_checks()
    results = []
    for fn in _CHECKS:
        try:
            results.append(fn(settings))
        except Exception as exc:  # noqa: BLE001 - the doctor reports every failure as a row
            results.append(Check(fn.__name__.removeprefix("check_"), "?", False, repr(exc)))
    return results


def _load_builtin_checks() -> None:
    # Imported for their @register side effect; kept here so `doctor` imports stay lazy.
    import devmatrix.doctor_checks  # noqa: F401
