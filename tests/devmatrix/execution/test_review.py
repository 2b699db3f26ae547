"""The review queue from the command line: a low-confidence atom lands in review with its diff;
reject regenerates it with the reason as feedback; edit validates the person's code; approve."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select

from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import Atom, AtomAttempt, ReviewItem

from .test_run import FIXTURES, devmatrix, scripted_env


def _mul(engine_url: str) -> tuple[Atom, list[AtomAttempt], list[ReviewItem]]:
    engine = create_db_engine(engine_url)
    with session_scope(engine) as session:
        atom = session.exec(select(Atom).where(Atom.key == "calc/mul.py::mul")).one()
        attempts = list(
            session.exec(
                select(AtomAttempt)
                .where(AtomAttempt.atom_id == atom.id)
                .order_by(col(AtomAttempt.number))
            )
        )
        items = list(
            session.exec(
                select(ReviewItem).where(ReviewItem.atom_id == atom.id).order_by(col(ReviewItem.id))
            )
        )
    engine.dispose()
    return atom, attempts, items


def test_review_reject_edit_and_approve(tmp_path: Path) -> None:
    env = {**scripted_env(tmp_path / "data"), "DEVMATRIX_REVIEW_CONFIDENCE_THRESHOLD": "0.9"}
    url = f"sqlite:///{tmp_path / 'data' / 'devmatrix.db'}"
    out = tmp_path / "out"
    first = devmatrix("run", str(FIXTURES / "calc_spec.md"), "--out", str(out), env=env)
    assert first.returncode == 0, first.stdout + first.stderr

    atom, attempts, items = _mul(url)
    assert atom.status == "review"  # retried once: confidence 0.85 < 0.9
    assert [i.status for i in items] == ["open"]
    assert "Confidence 0.85" in items[0].reason
    assert "-    return repeat_add(a, b)" in items[0].diff

    listed = devmatrix("review", "list", env=env)
    assert "calc/mul.py::mul" in listed.stdout
    shown = devmatrix("review", "show", str(items[0].id), env=env)
    assert "repeat_add" in shown.stdout

    assert devmatrix("review", "reject", str(items[0].id), env=env).returncode != 0  # no reason
    rejected = devmatrix(
        "review", "reject", str(items[0].id), "--reason", "needs a docstring", env=env
    )
    assert rejected.returncode == 0, rejected.stdout + rejected.stderr
    atom, attempts, items = _mul(url)
    assert len(attempts) == 3
    assert attempts[1].feedback is not None
    assert "needs a docstring" in attempts[1].feedback
    assert '"""Multiply a by b' in (atom.code or "")
    assert items[0].status == "rejected"
    assert items[-1].status == "open"  # three attempts: still below 0.9, back in review

    mine = tmp_path / "mine.py"
    mine.write_text(
        "from calc.ops import add\n\n\ndef mul(a: int, b: int) -> int:\n"
        "    return sum(add(0, a) for _ in range(b))\n"
    )
    edited = devmatrix("review", "edit", str(items[-1].id), "--file", str(mine), env=env)
    assert edited.returncode == 0, edited.stdout + edited.stderr
    atom, attempts, items = _mul(url)
    assert attempts[-1].source == "human"
    assert attempts[-1].outcome == "passed"
    assert atom.status == "approved"
    assert "sum(add(0, a)" in (out / "calc" / "mul.py").read_text()

    bad = tmp_path / "bad.py"
    bad.write_text("def mul(a, b):\n    return nope\n")
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        test_item = session.exec(select(ReviewItem).where(ReviewItem.status == "open")).first()
    assert test_item is None  # nothing else waits
    assert devmatrix("review", "approve", "999", env=env).returncode == 1
