"""Diagnostics of the active plan's files: failed checks as errors at the atom's range (with the
failing test as related information), review-needed atoms as warnings with their confidence."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from lsprotocol import types

from devmatrix_lsp.atoms import AtomView, Failure, PlanIndex, ReviewView
from devmatrix_lsp.placement import OutsideWorkspace, Placement

SOURCE = "devmatrix"
LEVELS = {
    1: "the atom check",
    2: "the task's tests",
    3: "the milestone check (imports, all tests, lint)",
    4: "the acceptance tests",
}


Span = tuple[int, int, int]


class DiagnosticMemo:
    """Each atom's diagnostics, rebuilt only when what they show changed: an event touches one
    atom, while the other atoms of its file (hundreds, in a big file) keep theirs. Reusing the
    same objects also lets the converter reuse their JSON form (see `cached_unstructure`)."""

    def __init__(self) -> None:
        self._by_atom: dict[int, tuple[Hashable, list[types.Diagnostic]]] = {}

    def lookup(self, atom_id: int, key: Hashable) -> list[types.Diagnostic] | None:
        """The diagnostics built for `key`, if the atom's are still those."""
        found = self._by_atom.get(atom_id)
        return found[1] if found is not None and found[0] == key else None

    def store(self, atom_id: int, key: Hashable, found: list[types.Diagnostic]) -> None:
        """Remember the atom's diagnostics for `key`."""
        self._by_atom[atom_id] = (key, found)

    def clear(self) -> None:
        """Forget everything (another plan became active)."""
        self._by_atom.clear()


def file_diagnostics(
    index: PlanIndex, place: Placement, file: str, memo: DiagnosticMemo | None = None
) -> list[types.Diagnostic]:
    """Every DevMatrix diagnostic of one workspace-relative file."""
    memo = memo or DiagnosticMemo()
    found: list[types.Diagnostic] = []
    atoms = [a for a in index.atoms_in(file) if _shown(index, a)]
    for atom, span in zip(atoms, place.spans(file, atoms), strict=True):
        failures = index.failures(atom)
        review = index.reviews.get(atom.id) if atom.status != "approved" else None
        key = (
            span,
            atom.qualified_name,
            atom.status,
            atom.attempts,
            atom.last_error,
            tuple(failures),
            None if review is None else (review.id, review.confidence, review.reason),
        )
        built = memo.lookup(atom.id, key)
        if built is None:
            built = _atom_diagnostics(atom, failures, review, _range(span), place)
            memo.store(atom.id, key, built)
        found.extend(built)
    return found


def _atom_diagnostics(
    atom: AtomView,
    failures: list[Failure],
    review: ReviewView | None,
    where: types.Range,
    place: Placement,
) -> list[types.Diagnostic]:
    found = [_failure(atom, f, where, place) for f in failures]
    if atom.status == "failed" and not failures:
        found.append(_gave_up(atom, where))
    if review is not None:
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


def _range(span: Span) -> types.Range:
    first, last, width = span
    return types.Range(
        start=types.Position(line=first, character=0),
        end=types.Position(line=last, character=width),
    )


def cached_unstructure(
    original: Callable[[types.Diagnostic], Any], size: int = 20_000
) -> Callable[[types.Diagnostic], Any]:
    """A converter hook giving the same JSON form for the same Diagnostic object (they are reused
    by `DiagnosticMemo`), least recently used dropped beyond `size`."""
    forms: OrderedDict[int, tuple[types.Diagnostic, Any]] = OrderedDict()

    def unstructure(diagnostic: types.Diagnostic) -> Any:
        entry = forms.get(id(diagnostic))
        if entry is not None and entry[0] is diagnostic:
            forms.move_to_end(id(diagnostic))
            return entry[1]
        form = original(diagnostic)
        forms[id(diagnostic)] = (diagnostic, form)
        if len(forms) > size:
            forms.popitem(last=False)
        return form

    return unstructure


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
