"""The review queue: atoms a person should look at, and the three ways to resolve them.

Approve accepts the code as is; reject sends the reason back to the model as feedback and
regenerates the atom; edit replaces the code with the person's and validates it again.
"""

from __future__ import annotations

import difflib

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from devmatrix.errors import DevMatrixError, NotFoundError
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import Atom, AtomAttempt, ReviewItem, utcnow

REJECTION_PREFIX = "A reviewer rejected your previous code for this definition."


class ReviewError(DevMatrixError):
    """A review action that cannot be taken (wrong state, empty reason...)."""


def latest_attempts(session: Session, atom_id: int, count: int) -> list[AtomAttempt]:
    """An atom's newest attempts, newest first."""
    query = (
        select(AtomAttempt)
        .where(AtomAttempt.atom_id == atom_id)
        .order_by(col(AtomAttempt.number).desc())
        .limit(count)
    )
    return list(session.exec(query))


def code_diff(previous: str, proposed: str, file: str) -> str:
    """A unified diff from the previous version of an atom to the proposed one."""
    return "".join(
        difflib.unified_diff(
            previous.splitlines(keepends=True),
            proposed.splitlines(keepends=True),
            fromfile=f"a/{file}",
            tofile=f"b/{file}",
        )
    )


def open_review(
    engine: Engine, atom_id: int, *, reason: str, confidence: float, validator_output: str
) -> int:
    """Put an atom in the review queue (one open item per atom); returns the item id."""
    with session_scope(engine) as session:
        atom = session.get(Atom, atom_id)
        assert atom is not None
        open_item = session.exec(
            select(ReviewItem).where(ReviewItem.atom_id == atom_id, ReviewItem.status == "open")
        ).first()
        attempts = latest_attempts(session, atom_id, 2)
        proposed = atom.code or (attempts[0].code if attempts else "")
        previous = attempts[1].code if len(attempts) > 1 else ""
        item = open_item or ReviewItem(plan_id=atom.plan_id, atom_id=atom_id)
        item.reason = reason
        item.confidence = confidence
        item.proposed_code = proposed
        item.previous_code = previous
        item.diff = code_diff(previous, proposed, atom.file)
        item.validator_output = validator_output[:20000]
        session.add(item)
        atom.status = "review"
        session.add(atom)
        session.flush()
        assert item.id is not None
        return item.id


def resolve_review(
    engine: Engine, item_id: int, action: str, *, note: str = "", user_id: int | None = None
) -> ReviewItem:
    """Close an open review item as approved, rejected or edited; the atom's status follows."""
    if action == "rejected" and not note.strip():
        raise ReviewError("A rejection needs a reason.", "Say what is wrong; the model gets it.")
    with session_scope(engine) as session:
        item = session.get(ReviewItem, item_id)
        if item is None:
            raise NotFoundError(
                f"There is no review item {item_id}.", "See `devmatrix review list`."
            )
        if item.status != "open":
            raise ReviewError(f"Review item {item_id} is already {item.status}.")
        atom = session.get(Atom, item.atom_id)
        assert atom is not None
        item.status = action
        item.resolution_note = note or None
        item.resolved_by = user_id
        item.resolved_at = utcnow()
        atom.status = {"approved": "approved", "rejected": "pending", "edited": "pending"}[action]
        if action == "rejected":
            atom.last_error = f"Rejected by a reviewer: {note}"
        session.add_all([item, atom])
        return item


def record_human_code(engine: Engine, atom_id: int, code: str) -> None:
    """Store a person's code for an atom as its next attempt, to be validated on the next run."""
    with session_scope(engine) as session:
        last = next(iter(latest_attempts(session, atom_id, 1)), None)
        number = (last.number if last else 0) + 1
        session.add(
            AtomAttempt(
                atom_id=atom_id, number=number, source="human", code=code, outcome="generated"
            )
        )


def record_rejection_feedback(engine: Engine, atom_id: int, reason: str) -> None:
    """Mark the atom's last attempt as failed with the reviewer's reason as the model's feedback."""
    with session_scope(engine) as session:
        last = next(iter(latest_attempts(session, atom_id, 1)), None)
        if last is not None:
            last.outcome = "failed"
            last.feedback = (
                f"{REJECTION_PREFIX} Their reason: {reason}\n"
                "Write it again so that it addresses the reason."
            )
            session.add(last)
