"""Diagnostics of the active plan's files: failed checks as errors at the atom's range (with the
failing test as related information), review-needed atoms as warnings with their confidence."""

from __future__ import annotations

from lsprotocol import types

from devmatrix_lsp.atoms import AtomView, Failure, PlanIndex
from devmatrix_lsp.placement import OutsideWorkspace, Placement

SOURCE = "devmatrix"
LEVELS = {
    1: "the atom check",
    2: "the task's tests",
    3: "the milestone check (imports, all tests, lint)",
    4: "the acceptance tests",
}


def file_diagnostics(index: PlanIndex, place: Placement, file: str) -> list[types.Diagnostic]:
    """Every DevMatrix diagnostic of one workspace-relative file."""
    found: list[types.Diagnostic] = []
    atoms = [a for a in index.atoms_in(file) if _shown(index, a)]
    for atom, where in zip(atoms, place.ranges(file, atoms), strict=True):
        failures = index.failures(atom)
        found.extend(_failure(atom, f, where, place) for f in failures)
        if atom.status == "failed" and not failures:
            found.append(_gave_up(atom, where))
        review = index.reviews.get(atom.id)
        if review is not None and atom.status != "approved":
            found.append(
                types.Diagnostic(
                    range=where,
                    severity=types.DiagnosticSeverity.Warning,
                    code="review-needed",
                    source=SOURCE,
                    message=(
                        f"{atom.qualified_name} needs a person's review: confidence "
                        f"{review.confidence:.2f}. {review.reason}".strip()
                    ),
                    data={"atomId": atom.id, "reviewId": review.id},
                )
            )
    return found


def _shown(index: PlanIndex, atom: AtomView) -> bool:
    return atom.id in index.reviews or atom.status == "failed" or bool(index.results.get(atom.id))


def _failure(
    atom: AtomView, failure: Failure, where: types.Range, place: Placement
) -> types.Diagnostic:
    code = failure.code if failure.code.startswith("L") else f"L{failure.level}-{failure.code}"
    message = failure.message.strip() or "no details were recorded"
    related = None
    if failure.file and failure.file != atom.file:  # e.g. the test that failed
        try:
            line = max((failure.line or 1) - 1, 0)
            related = [
                types.DiagnosticRelatedInformation(
                    location=types.Location(
                        uri=place.uri(failure.file),
                        range=types.Range(
                            start=types.Position(line=line, character=0),
                            end=types.Position(line=line, character=0),
                        ),
                    ),
                    message=f"checked here ({failure.file}:{line + 1})",
                )
            ]
        except OutsideWorkspace:
            related = None
    return types.Diagnostic(
        range=where,
        severity=types.DiagnosticSeverity.Error,
        code=code,
        source=SOURCE,
        message=f"{atom.qualified_name} failed {LEVELS.get(failure.level, 'a check')}: {message}",
        related_information=related,
        data={"atomId": atom.id},
    )


def _gave_up(atom: AtomView, where: types.Range) -> types.Diagnostic:
    return types.Diagnostic(
        range=where,
        severity=types.DiagnosticSeverity.Error,
        code="L1-failed",
        source=SOURCE,
        message=(
            f"{atom.qualified_name} still fails after {atom.attempts} attempt(s): "
            f"{atom.last_error or 'no details were recorded'}"
        ),
        data={"atomId": atom.id},
    )
