"""What the language server knows of the active plan: its atoms, their latest check results and
open review items, indexed by file for code actions and diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DONE = frozenset({"validated", "approved", "failed", "review"})
RESOLVED = frozenset({"validated", "approved"})


@dataclass
class AtomView:
    """One atom as the backend reports it (`/api/v1/atoms/{id}`)."""

    id: int
    key: str
    file: str
    qualified_name: str
    kind: str = "function"
    status: str = "pending"
    code: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    confidence: float | None = None
    attempts: int = 0
    last_error: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> AtomView:
        """Build from the API's atom object."""
        return cls(
            id=int(data["id"]),
            key=str(data["key"]),
            file=str(data["file"]),
            qualified_name=str(data["qualified_name"]),
            kind=str(data.get("kind") or "function"),
            status=str(data.get("status") or "pending"),
            code=data.get("code"),
            start_line=data.get("start_line"),
            end_line=data.get("end_line"),
            confidence=data.get("confidence"),
            attempts=int(data.get("attempts") or 0),
            last_error=data.get("last_error"),
        )


@dataclass(frozen=True)
class Failure:
    """A failed check blamed on an atom (`/api/v1/plans/{id}/validation`)."""

    id: int
    level: int
    code: str
    message: str
    file: str | None
    line: int | None
    run_id: int | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Failure:
        """Build from the API's validation result."""
        return cls(
            id=int(data["id"]),
            level=int(data["level"]),
            code=str(data.get("code") or f"L{data['level']}-failed"),
            message=str(data.get("message") or ""),
            file=data.get("file"),
            line=data.get("line"),
            run_id=data.get("run_id"),
        )


@dataclass
class ReviewView:
    """An open review item of an atom."""

    id: int
    atom_id: int
    confidence: float
    reason: str = ""
    proposed_code: str | None = None


@dataclass
class PlanIndex:
    """The active plan's atoms, failures and open reviews."""

    plan_id: int
    atoms: dict[int, AtomView] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    by_file: dict[str, list[int]] = field(default_factory=dict)
    # Latest result per atom and level: None when it passed.
    results: dict[int, dict[int, Failure | None]] = field(default_factory=dict)
    reviews: dict[int, ReviewView] = field(default_factory=dict)  # by atom id
    latest_run: int | None = None

    def put_atom(self, atom: AtomView) -> None:
        """Add or replace an atom."""
        old = self.atoms.get(atom.id)
        if old is not None and old.file != atom.file:
            self.by_file[old.file].remove(atom.id)
        if old is None or old.file != atom.file:
            self.by_file.setdefault(atom.file, []).append(atom.id)
        self.atoms[atom.id] = atom
        self.by_key[atom.key] = atom.id

    def put_results(self, rows: list[dict[str, Any]]) -> set[str]:
        """Record check results (oldest first); returns the files whose atoms changed."""
        touched: set[str] = set()
        for row in rows:
            atom_id = row.get("atom_id")
            if row.get("run_id") is not None:
                self.latest_run = max(self.latest_run or 0, int(row["run_id"]))
            if atom_id is None or atom_id not in self.atoms:
                continue
            levels = self.results.setdefault(atom_id, {})
            previous = levels.get(int(row["level"]))
            if previous is not None and previous.id > int(row["id"]):
                continue
            levels[int(row["level"])] = None if row.get("passed") else Failure.from_api(row)
            touched.add(self.atoms[atom_id].file)
        return touched

    def failures(self, atom: AtomView) -> list[Failure]:
        """The atom's unresolved failures (latest result per level failed): none once approved;
        only levels 2-4 once validated. An atom sent to review after failing keeps them all."""
        if atom.status == "approved":
            return []
        found = [f for f in self.results.get(atom.id, {}).values() if f is not None]
        if self.latest_run is not None:
            found = [f for f in found if f.run_id in (None, self.latest_run)]
        if atom.status in RESOLVED:
            found = [f for f in found if f.level > 1]
        return sorted(found, key=lambda f: f.level)

    def atoms_in(self, file: str) -> list[AtomView]:
        """The atoms placed in `file` (workspace-relative path)."""
        return [self.atoms[i] for i in self.by_file.get(file, [])]

    def atom_by_key(self, key: str) -> AtomView | None:
        """The atom with key `file::qualified_name`."""
        found = self.by_key.get(key)
        return self.atoms.get(found) if found is not None else None

    def counts(self) -> tuple[int, int]:
        """(atoms done, atoms in all) for progress."""
        return sum(a.status in DONE for a in self.atoms.values()), len(self.atoms)
