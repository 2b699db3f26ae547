"""/api/v1/plans/{id}/graph: the atom dependency graph and its display-only waves."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from devmatrix.storage.models import Atom, AtomDependency, DependencyGraph, ExecutionWave
from devmatrix_server.deps import MemberAccess, ObjectId, SessionDep
from devmatrix_server.routes.plans import team_plan
from devmatrix_server.schemas.plans import EdgePublic, GraphPublic

router = APIRouter(prefix="/api/v1/plans", tags=["graph"])


@router.get("/{plan_id}/graph", response_model=GraphPublic)
def read_graph(plan_id: ObjectId, caller: MemberAccess, session: SessionDep) -> GraphPublic:
    """Edges (the source atom uses a symbol the target defines), cycles and waves."""
    team_plan(session, plan_id, caller)
    used, user = aliased(Atom), aliased(Atom)
    pairs = session.exec(
        select(user.key, used.key)
        .select_from(AtomDependency)
        .join(used, col(used.id) == col(AtomDependency.from_atom_id))
        .join(user, col(user.id) == col(AtomDependency.to_atom_id))
        .where(AtomDependency.plan_id == plan_id)
        .order_by(col(AtomDependency.id))
    ).all()
    summary = session.exec(
        select(DependencyGraph).where(DependencyGraph.plan_id == plan_id)
    ).first()
    waves: list[list[str]] = []
    if summary is not None:
        rows = session.exec(
            select(ExecutionWave)
            .where(ExecutionWave.graph_id == summary.id)
            .order_by(col(ExecutionWave.number))
        ).all()
        waves = [list(w.atom_keys) for w in rows]
    return GraphPublic(
        plan_id=plan_id,
        node_count=summary.node_count if summary else 0,
        edge_count=len(pairs),
        longest_chain=summary.longest_chain if summary else 0,
        cycles=list(summary.cycles) if summary else [],
        edges=[EdgePublic(source=source, target=target) for source, target in pairs],
        waves=waves,
    )
