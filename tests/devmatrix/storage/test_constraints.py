"""Constraints and ON DELETE behaviour hold on both databases, as migrated (not create_all)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import (
    Atom,
    AtomDependency,
    Conversation,
    DependencyGraph,
    ExecutionWave,
    MasterPlan,
    Role,
    Team,
    User,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'c.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _seed(session: Session) -> tuple[Team, User, MasterPlan]:
    team = Team(name="core")
    role = Role(name="user")
    session.add_all([team, role])
    session.flush()
    assert team.id is not None
    assert role.id is not None
    user = User(
        username="ana", email="ana@example.com", password_hash="x", team_id=team.id, role_id=role.id
    )
    plan = MasterPlan(title="todo api", team_id=team.id)
    session.add_all([user, plan])
    session.flush()
    return team, user, plan


def _atom(plan_id: int, name: str) -> Atom:
    return Atom(
        plan_id=plan_id, key=f"app.py::{name}", file="app.py", qualified_name=name, kind="function"
    )


def test_username_and_email_are_unique(engine: Engine) -> None:
    with session_scope(engine) as session:
        team, _, _ = _seed(session)
        role_id = session.exec(select(Role.id)).one()
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(
            User(
                username="ana",
                email="other@example.com",
                password_hash="x",
                team_id=team.id,
                role_id=role_id,
            )
        )
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(
            User(
                username="bea",
                email="ana@example.com",
                password_hash="x",
                team_id=team.id,
                role_id=role_id,
            )
        )


def test_one_edge_per_atom_pair_and_one_wave_number_per_graph(engine: Engine) -> None:
    with session_scope(engine) as session:
        _, _, plan = _seed(session)
        assert plan.id is not None
        a, b = _atom(plan.id, "a"), _atom(plan.id, "b")
        graph = DependencyGraph(plan_id=plan.id)
        session.add_all([a, b, graph])
        session.flush()
        session.add(AtomDependency(plan_id=plan.id, from_atom_id=a.id, to_atom_id=b.id))
        session.add(ExecutionWave(graph_id=graph.id, number=0, atom_keys=[a.key]))
        ids = (plan.id, a.id, b.id, graph.id)
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(AtomDependency(plan_id=ids[0], from_atom_id=ids[1], to_atom_id=ids[2]))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(ExecutionWave(graph_id=ids[3], number=0, atom_keys=[]))


def test_deleting_a_plan_cascades_to_its_atoms_and_edges(engine: Engine) -> None:
    with session_scope(engine) as session:
        _, _, plan = _seed(session)
        assert plan.id is not None
        a, b = _atom(plan.id, "a"), _atom(plan.id, "b")
        session.add_all([a, b])
        session.flush()
        session.add(AtomDependency(plan_id=plan.id, from_atom_id=a.id, to_atom_id=b.id))
    with session_scope(engine) as session:
        session.delete(session.get(MasterPlan, plan.id))
    with session_scope(engine) as session:
        assert session.exec(select(Atom)).all() == []
        assert session.exec(select(AtomDependency)).all() == []


def test_deleting_a_user_keeps_their_conversations_ownerless(engine: Engine) -> None:
    with session_scope(engine) as session:
        team, user, _ = _seed(session)
        session.add(Conversation(team_id=team.id, owner_id=user.id, title="hello"))
    with session_scope(engine) as session:
        session.delete(session.get(User, user.id))
    with session_scope(engine) as session:
        conversation = session.exec(select(Conversation)).one()
        assert conversation.owner_id is None


def test_a_team_with_members_cannot_be_deleted(engine: Engine) -> None:
    with session_scope(engine) as session:
        team, _, _ = _seed(session)
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.delete(session.get(Team, team.id))
