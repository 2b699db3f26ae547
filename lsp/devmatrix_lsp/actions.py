"""Code actions on the active plan's atoms: apply an atom, approve or reject its review (the
proposed code carried as the edit, so the editor can preview the diff), regenerate it, and a
source action applying every validated atom of the file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lsprotocol import types

from devmatrix_lsp.atoms import RESOLVED, AtomView, PlanIndex, ReviewView
from devmatrix_lsp.edits import EditSupport, FileEdit, NoCode, atoms_edit
from devmatrix_lsp.placement import OutsideWorkspace, Placement

APPLY_ALL_KIND = "source.devmatrix.applyAll"
REJECT_REASON = "Rejected in the editor: generate it again."


def code_actions(
    index: PlanIndex | None,
    place: Placement,
    support: EditSupport,
    params: types.CodeActionParams,
    *,
    resolve_edits: bool,
) -> list[types.CodeAction]:
    """The DevMatrix actions for `params.range` of `params.text_document`."""
    file = place.relative(params.text_document.uri)
    if index is None or file is None or file not in index.by_file:
        return []
    only = params.context.only
    found: list[types.CodeAction] = []
    if _wanted(only, types.CodeActionKind.RefactorRewrite) or _wanted(
        only, types.CodeActionKind.QuickFix
    ):
        ours = {
            d.data.get("atomId"): d
            for d in params.context.diagnostics
            if d.source == "devmatrix" and isinstance(d.data, dict)
        }
        atoms = index.atoms_in(file)
        start, end = params.range.start, params.range.end
        for atom, (first, last) in zip(atoms, place.lines_of(file, atoms), strict=True):
            # Whole lines: a cursor anywhere on the symbol's lines is on the symbol.
            if first <= end.line and start.line <= last:
                found += _atom_actions(index, place, support, atom, ours.get(atom.id))
    if _wanted(only, APPLY_ALL_KIND):
        ready = [a for a in index.atoms_in(file) if a.status in RESOLVED and a.code]
        if ready:
            found.append(_apply_all(place, support, file, ready, resolve_edits))
    return found


def resolve_apply_all(
    index: PlanIndex | None, place: Placement, support: EditSupport, action: types.CodeAction
) -> types.CodeAction:
    """Fill in the edit of an apply-all action sent without one."""
    data = action.data if isinstance(action.data, dict) else {}
    file = data.get("file")
    if index is None or not isinstance(file, str):
        return action
    ready = [a for a in index.atoms_in(file) if a.status in RESOLVED and a.code]
    return _apply_all(place, support, file, ready, resolve_edits=False)


def _wanted(only: Sequence[str] | None, kind: str) -> bool:
    return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)


def _atom_actions(
    index: PlanIndex,
    place: Placement,
    support: EditSupport,
    atom: AtomView,
    diagnostic: types.Diagnostic | None,
) -> list[types.CodeAction]:
    name = atom.qualified_name
    kind = types.CodeActionKind.QuickFix if diagnostic else types.CodeActionKind.RefactorRewrite
    linked = [diagnostic] if diagnostic else None
    found: list[types.CodeAction] = []
    if atom.code:
        found.append(
            _with_edit(
                types.CodeAction(title=f"DevMatrix: apply atom {name}", kind=kind),
                _edit(place, support, atom),
                types.Command(
                    title="Apply atom",
                    command="devmatrix.atom.apply",
                    arguments=[{"atomId": atom.id}],
                ),
                linked,
            )
        )
    review = index.reviews.get(atom.id)
    if review is not None:
        found += _review_actions(place, support, atom, review, kind, linked)
    found.append(
        types.CodeAction(
            title=f"DevMatrix: regenerate atom {name}",
            kind=types.CodeActionKind.RefactorRewrite,
            command=types.Command(
                title="Regenerate atom",
                command="devmatrix.atom.regenerate",
                arguments=[{"atomId": atom.id}],
            ),
        )
    )
    return found


def _review_actions(
    place: Placement,
    support: EditSupport,
    atom: AtomView,
    review: ReviewView,
    kind: str,
    linked: list[types.Diagnostic] | None,
) -> list[types.CodeAction]:
    """Approve (the proposed code as the edit, so the diff can be previewed) and reject."""
    name = atom.qualified_name
    proposed = replace(atom, code=review.proposed_code or atom.code)
    approve = types.Command(
        title="Approve review",
        command="devmatrix.review.approve",
        arguments=[{"itemId": review.id}],
    )
    action = types.CodeAction(title=f"DevMatrix: approve review {name}", kind=kind)
    reject = types.CodeAction(
        title=f"DevMatrix: reject review {name}",
        kind=kind,
        diagnostics=linked,
        command=types.Command(
            title="Reject review",
            command="devmatrix.review.reject",
            arguments=[{"itemId": review.id, "reason": REJECT_REASON}],
        ),
    )
    return [_with_edit(action, _edit(place, support, proposed), approve, linked), reject]


def _edit(place: Placement, support: EditSupport, atom: AtomView) -> FileEdit | None:
    try:
        return atoms_edit(place, atom.file, [atom], support)
    except (NoCode, OutsideWorkspace):
        return None


def _with_edit(
    action: types.CodeAction,
    edit: FileEdit | None,
    command: types.Command,
    diagnostics: list[types.Diagnostic] | None,
) -> types.CodeAction:
    """The edit when the client can apply it alone; otherwise the command does the work (it
    writes a missing file first). A command run after an edit only talks to the backend."""
    action.diagnostics = diagnostics
    action.data = command.arguments[0] if command.arguments else None
    if edit is not None and not edit.create_on_disk:
        action.edit = edit.edit
        if command.command != "devmatrix.atom.apply":
            action.command = command
    else:
        action.command = command
    return action


def _apply_all(
    place: Placement, support: EditSupport, file: str, atoms: list[AtomView], resolve_edits: bool
) -> types.CodeAction:
    action = types.CodeAction(
        title="DevMatrix: apply all validated atoms of this file",
        kind=APPLY_ALL_KIND,
        data={"file": file},
    )
    if resolve_edits:
        return action  # the edit comes with codeAction/resolve
    edit = atoms_edit(place, file, atoms, support)
    if edit.create_on_disk:
        action.command = types.Command(
            title="Apply all",
            command="devmatrix.atom.apply",
            arguments=[{"atomIds": [a.id for a in atoms]}],
        )
    else:
        action.edit = edit.edit
    return action
