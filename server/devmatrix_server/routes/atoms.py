"""Atoms: a plan's atoms, one atom, and atomization of uploaded source files."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

from fastapi import APIRouter
from sqlmodel import Session, select

from devmatrix.code.atomizer import atomize_path
from devmatrix.errors import NotFoundError
from devmatrix.graph import build_graph
from devmatrix.storage.models import Atom, MasterPlan
from devmatrix_server.deps import Caller, MemberAccess, ObjectId, SessionDep
from devmatrix_server.errors import InvalidInput
from devmatrix_server.pagination import Page, PageParams, paginate
from devmatrix_server.routes.plans import team_plan
from devmatrix_server.schemas.plans import (
    AtomizeRequest,
    AtomizeResult,
    AtomPublic,
    CodeAtomPublic,
    EdgePublic,
)

router = APIRouter(prefix="/api/v1", tags=["atoms"])
MAX_UPLOAD_BYTES = 5_000_000


def team_atom(session: Session, atom_id: int, caller: Caller) -> Atom:
    """The atom if its plan belongs to the caller's team; otherwise "not found"."""
    atom = session.get(Atom, atom_id)
    plan = session.get(MasterPlan, atom.plan_id) if atom is not None else None
    if atom is None or plan is None or plan.team_id != caller.team_id:
        raise NotFoundError(f"Atom {atom_id} does not exist.", "Check the id.")
    return atom


def atom_public(row: Atom) -> AtomPublic:
    """The API view of an atom."""
    return AtomPublic.model_validate(row, from_attributes=True)


@router.get("/plans/{plan_id}/atoms", response_model=Page[AtomPublic])
def list_atoms(
    plan_id: ObjectId, caller: MemberAccess, session: SessionDep, page: PageParams
) -> Page[AtomPublic]:
    """A plan's atoms with their state and current code."""
    team_plan(session, plan_id, caller)
    statement = select(Atom).where(Atom.plan_id == plan_id)
    return paginate(session, statement, key=Atom.id, page=page, to_public=atom_public)


@router.get("/atoms/{atom_id}", response_model=AtomPublic)
def read_atom(atom_id: ObjectId, caller: MemberAccess, session: SessionDep) -> AtomPublic:
    """One atom."""
    return atom_public(team_atom(session, atom_id, caller))


@router.post("/atomize", response_model=AtomizeResult)
def atomize_files(data: AtomizeRequest, caller: MemberAccess) -> AtomizeResult:
    """Atomize uploaded files (by relative path): atoms, dependency edges and waves."""
    if sum(len(text) for text in data.files.values()) > MAX_UPLOAD_BYTES:
        raise InvalidInput("The files are larger than 5 MB in total.", "Send fewer files.")
    with tempfile.TemporaryDirectory(prefix="devmatrix-atomize-") as folder:
        root = Path(folder)
        for name, text in data.files.items():
            target = root / _relative(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", errors="surrogatepass")
        found = atomize_path(root)
    graph = build_graph(found.atoms)
    return AtomizeResult(
        atoms=[
            CodeAtomPublic(
                id=a.id,
                file=a.file,
                qualified_name=a.qualified_name,
                kind=a.kind,
                start_line=a.start_line,
                end_line=a.end_line,
                signature=a.signature,
            )
            for a in found.atoms
        ],
        edges=[EdgePublic(source=e.source, target=e.target) for e in graph.edges],
        waves=graph.waves(),
        cycles=[list(c) for c in graph.cycles],
        problems=[f"{p.path}: {p.reason}" for p in found.problems],
    )


def _relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    parts = path.parts
    if (
        not parts
        or path.is_absolute()
        or any(p in ("..", ".", "") for p in parts)
        or any(ord(ch) < 32 or ch in "\\:" for ch in name)
        or len(name) > 300
        or len(parts) > 20
    ):
        raise InvalidInput(
            f"{name[:100]!r} is not a relative file path.",
            "Use paths like `pkg/module.py`, without `..`, a leading `/` or control characters.",
        )
    return path
