"""How sure we are of one atom, in [0, 1]: validation levels passed, attempts used, test coverage.

    confidence = V x R x C   (0 when level 1 did not pass), rounded to 4 decimals

    V = sum(w[l] for levels l run and passed) / sum(w[l] for levels l run)
        with w = {1: 0.4, 2: 0.3, 3: 0.2, 4: 0.1}
    R = 0.85 ** (attempts - 1)          first answer 1.0, second 0.85, fourth 0.61
    C = 0.5 + 0.5 * coverage            coverage = executed share of the atom's statements;
                                        0.75 when it was not measured

docs/validation.md explains the choices. Deterministic: same inputs, same number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from devmatrix.validation.findings import Finding, Level

LEVEL_WEIGHTS: Mapping[int, float] = {1: 0.4, 2: 0.3, 3: 0.2, 4: 0.1}
RETRY_DECAY = 0.85
UNMEASURED_COVERAGE = 0.5  # coverage assumed when no test run measured the atom


@dataclass(frozen=True)
class ConfidenceInputs:
    """What the formula reads: the result of each level run, attempts used, measured coverage."""

    levels: Mapping[int, bool]
    attempts: int = 1
    coverage: float | None = None


def confidence(inputs: ConfidenceInputs) -> float:
    """The atom's confidence in [0, 1] (module docstring and docs/validation.md give the formula)."""
    if not inputs.levels.get(Level.ATOM, False):
        return 0.0
    run = {lvl: ok for lvl, ok in inputs.levels.items() if lvl in LEVEL_WEIGHTS}
    weight = sum(LEVEL_WEIGHTS[lvl] for lvl in run)
    validation = sum(LEVEL_WEIGHTS[lvl] for lvl, ok in run.items() if ok) / weight
    retries = RETRY_DECAY ** max(inputs.attempts - 1, 0)
    covered = (
        UNMEASURED_COVERAGE if inputs.coverage is None else min(max(inputs.coverage, 0.0), 1.0)
    )
    return round(validation * retries * (0.5 + 0.5 * covered), 4)


def levels_for_atom(
    atom_key: str, levels_run: Iterable[int], findings: Iterable[Finding]
) -> dict[int, bool]:
    """Which of the levels run passed for this atom: a level fails if a finding there is blamed on it."""
    failed = {int(f.level) for f in findings if atom_key in f.atom_keys}
    return {int(level): int(level) not in failed for level in levels_run}


def score_atom(
    atom_key: str,
    *,
    levels_run: Iterable[int],
    findings: Iterable[Finding],
    attempts: int,
    coverage: float | None,
) -> float:
    """Confidence of one atom from the levels run, the findings blamed on it, attempts, coverage."""
    levels = levels_for_atom(atom_key, levels_run, findings)
    return confidence(ConfidenceInputs(levels, attempts, coverage))


def needs_review(score: float, threshold: float) -> bool:
    """True when the atom goes to a person (strictly below the threshold)."""
    return score < threshold
