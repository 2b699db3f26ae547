"""Commands on review items and atoms: approve, reject (with a reason), edit, apply, regenerate.

The index is updated from the backend's answer at once, so the item's diagnostic clears without
waiting for the event (which arrives too, and changes nothing more)."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types

from devmatrix_lsp.arguments import CommandFailed, argument, bad_arguments, ident, text
from devmatrix_lsp.atoms import AtomView
from devmatrix_lsp.commands import command
from devmatrix_lsp.edits import NoCode, atoms_edit
from devmatrix_lsp.placement import OutsideWorkspace
from devmatrix_lsp.state import DevMatrixLanguageServer


async def _close_review(
    ls: DevMatrixLanguageServer, item_id: int, action: str, body: dict[str, Any] | None
) -> dict[str, Any]:
    item: dict[str, Any] = await ls.backend.request(
        "POST", f"/api/v1/review/{item_id}/{action}", json=body
    )
    index = ls.tracker.index
    atom = index.atoms.get(int(item["atom_id"])) if index else None
    if index is not None and atom is not None:
        index.reviews.pop(atom.id, None)
        atom.status = "approved" if item["status"] == "approved" else "pending"
        ls.tracker.publish_file(atom.file)
    return item


@command("devmatrix.review.approve")
async def review_approve(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Accept the proposed code of a review item as it is."""
    name, usage = "devmatrix.review.approve", '{"itemId": 2}'
    item_id = ident(name, argument(name, args, usage), "itemId", usage, required=True)
    return await _close_review(ls, item_id, "approve", None)


@command("devmatrix.review.reject")
async def review_reject(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Refuse the proposed code with a reason; the atom is generated again with it."""
    name, usage = "devmatrix.review.reject", '{"itemId": 2, "reason": "use a loop"}'
    data = argument(name, args, usage)
    item_id = ident(name, data, "itemId", usage, required=True)
    reason = text(name, data, "reason", usage, required=True)
    return await _close_review(ls, item_id, "reject", {"reason": reason})


@command("devmatrix.review.edit")
async def review_edit(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Replace the proposed code by hand; the resumed run validates it."""
    name, usage = "devmatrix.review.edit", '{"itemId": 2, "code": "def mul(a, b): ..."}'
    data = argument(name, args, usage)
    item_id = ident(name, data, "itemId", usage, required=True)
    code = text(name, data, "code", usage, required=True)
    return await _close_review(ls, item_id, "edit", {"code": code})


@command("devmatrix.atom.apply")
async def atom_apply(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Put an atom's code into its workspace file through workspace/applyEdit."""
    name, usage = "devmatrix.atom.apply", '{"atomId": 7}'
    data = argument(name, args, usage)
    ids = data.get("atomIds")
    if isinstance(ids, list) and ids and all(isinstance(i, int) and i > 0 for i in ids):
        atoms = [await _atom(ls, i) for i in ids]
    else:
        atoms = [await _atom(ls, ident(name, data, "atomId", usage, required=True))]
    if len({a.file for a in atoms}) != 1:
        raise bad_arguments(name, "`atomIds` must all be atoms of one file.", usage)
    try:
        edit = atoms_edit(ls.place, atoms[0].file, atoms, ls.edit_support)
        if edit.create_on_disk:  # the client cannot create files: write an empty one for it
            path = ls.place.path(atoms[0].file)
            await asyncio.to_thread(_create_empty, path)
            edit = atoms_edit(ls.place, atoms[0].file, atoms, ls.edit_support)
    except (NoCode, OutsideWorkspace) as exc:
        raise CommandFailed(message=f"{name}: {exc}") from None
    result = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(
            edit=edit.edit, label=f"DevMatrix: apply {', '.join(a.qualified_name for a in atoms)}"
        )
    )
    if not result.applied and result.failure_reason:
        ls.show_error(f"The editor did not apply the atom: {result.failure_reason}")
    return {"applied": bool(result.applied)}


@command("devmatrix.atom.regenerate")
async def atom_regenerate(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Generate an atom again: rejects its open review item with the reason given."""
    name, usage = "devmatrix.atom.regenerate", '{"atomId": 7, "reason": "…"}'
    data = argument(name, args, usage)
    atom = await _atom(ls, ident(name, data, "atomId", usage, required=True))
    reason = text(name, data, "reason", usage, required=False) or "Regenerate it, please."
    review = ls.tracker.index.reviews.get(atom.id) if ls.tracker.index else None
    if review is None:
        open_items = await ls.backend.all_pages(
            "/api/v1/review", {"status": "open", "plan_id": ls.tracker.plan_id}
        )
        found = [i for i in open_items if i["atom_id"] == atom.id]
        if not found:
            raise CommandFailed(
                message=f"{name}: {atom.qualified_name} is {atom.status} and waits for no review; "
                "only atoms in the review queue (unsure or failed) can be generated again."
            )
        return await _close_review(ls, int(found[0]["id"]), "reject", {"reason": reason})
    return await _close_review(ls, review.id, "reject", {"reason": reason})


async def _atom(ls: DevMatrixLanguageServer, atom_id: int) -> AtomView:
    index = ls.tracker.index
    known = index.atoms.get(atom_id) if index else None
    if known is not None and known.code:
        return known
    atom = AtomView.from_api(await ls.backend.request("GET", f"/api/v1/atoms/{atom_id}"))
    if index is not None and atom_id in index.atoms:
        index.put_atom(atom)
    return atom


def _create_empty(path: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
