"""Running an approved plan: atoms generated in dependency order, each checked at level 1 and
retried with the validator's feedback; task, milestone and plan checks as their inputs finish;
confidence scored at the end and the uncertain atoms sent to review.

Resuming is running again: atoms already validated are done, and an answer stored before a
crash is validated instead of asking the model a second time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Connection, Engine

from devmatrix.events import EventBus
from devmatrix.events.types import AtomFailed, AtomStarted, AtomValidated, EngineEvent
from devmatrix.execution.assembly import AssembledFile, PlacedAtom, assemble_file
from devmatrix.execution.generation import AtomBrief, UnusableAnswer, build_request, extract_code
from devmatrix.execution.progress import RunProgress
from devmatrix.execution.resilience import CircuitBreaker, call_with_backoff
from devmatrix.execution.review import REJECTION_PREFIX, open_review
from devmatrix.execution.state import (
    DONE_STATUSES,
    AtomState,
    PlanState,
    record_answer,
    record_request,
    settle_attempt,
    update_atom,
)
from devmatrix.graph import graph_from_edges
from devmatrix.llm.client import LLMClient
from devmatrix.llm.types import LLMRequest
from devmatrix.sandbox import SandboxLimits
from devmatrix.scheduler import Outcome, ScheduleControl, ScheduleHooks, run_schedule
from devmatrix.storage.db import autocommit, session_scope
from devmatrix.validation.atom_check import AtomContract, check_atom
from devmatrix.validation.blame import feedback_for_atom
from devmatrix.validation.findings import Finding, Level
from devmatrix.validation.in_sandbox import FileCoverage
from devmatrix.validation.records import (
    finding_rows,
    pass_rows,
    record_findings,
    record_passes,
)
from devmatrix.workspace import WorkspaceWriter

ProgressCallback = Callable[[RunProgress], None]


@dataclass(frozen=True)
class RunOptions:
    """How to run: where files go, how many atoms at once, retries, review threshold, limits."""

    out_dir: Path
    concurrency: int = 8
    max_attempts: int = 4
    review_threshold: float = 0.7
    check_rounds: int = 2
    heartbeat_seconds: float = 2.0
    limits: SandboxLimits | None = None


@dataclass
class PlanRun:
    """One process working on one plan."""

    engine: Engine
    client: LLMClient
    state: PlanState
    options: RunOptions
    run_id: int
    control: ScheduleControl = field(default_factory=ScheduleControl)
    bus: EventBus | None = None
    on_progress: ProgressCallback | None = None
    progress: RunProgress = field(default_factory=RunProgress)
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    levels: dict[str, dict[int, bool]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    coverage: dict[str, FileCoverage] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.writer = WorkspaceWriter(self.options.out_dir)
        # The project's own top-level packages, for grouping imports as ruff's isort wants.
        self.first_party = frozenset(
            PurePosixPath(f).parts[0].removesuffix(".py") for f in self.state.files()
        )
        self.progress.total = len(self.state.atoms)
        # Each atom's dependencies, in edge order: a prompt must not scan every edge of the plan.
        self.dependencies: dict[str, list[str]] = {key: [] for key in self.state.atoms}
        for definer, user in self.state.edges:
            self.dependencies[user].append(definer)
        for atom in self.state.atoms.values():
            if atom.status in DONE_STATUSES and atom.code:
                self.levels[atom.key] = {int(Level.ATOM): True}  # validated by an earlier process

    # ---- events and progress -------------------------------------------------------------

    def publish(self, event: EngineEvent) -> None:
        """Send an engine event to subscribers (when a bus is attached)."""
        if self.bus is not None:
            ids = {"plan_id": self.state.plan_id, "team_id": self.state.team_id}
            self.bus.publish(event.model_copy(update=ids))

    def write(self, *events: EngineEvent) -> AbstractContextManager[Connection]:
        """One transaction for a state change and the events reporting it (stored with a bus).

        Change and events commit together, and each transaction costs a BEGIN and a COMMIT, so
        an atom's step is written as one.
        """
        if self.bus is None or not events:
            return self.engine.begin()
        ids = {"plan_id": self.state.plan_id, "team_id": self.state.team_id}
        return self.bus.transaction([event.model_copy(update=ids) for event in events])

    def report(self, phase: str | None = None) -> None:
        """Recount progress from the atoms and hand it to the progress callback."""
        if phase:
            self.progress.phase = phase
        statuses = Counter(a.status for a in self.state.atoms.values())  # one pass, twice an atom
        self.progress.done = sum(statuses[status] for status in DONE_STATUSES)
        self.progress.running = statuses["running"]
        self.progress.in_review = statuses["review"]
        self.progress.failed = statuses["failed"]
        if self.on_progress is not None:
            self.on_progress(self.progress)

    # ---- files ---------------------------------------------------------------------------

    def assembled(self, file: str, override: tuple[str, str] | None = None) -> AssembledFile:
        """The file from every atom with accepted code (and `override` = (key, code) in place)."""
        placed = []
        for atom in self.state.atoms.values():
            if atom.file != file:
                continue
            code = atom.code if atom.status in DONE_STATUSES else None
            if override and atom.key == override[0]:
                code = override[1]
            if code:
                placed.append(
                    PlacedAtom(atom.key, atom.qualified_name, atom.kind, atom.position, code)
                )
        return assemble_file(file, placed, self.first_party)

    def write_file(self, file: str) -> None:
        """Write a file's current text through the workspace writer."""
        self.writer.write_text(file, self.assembled(file).text)

    # ---- one atom ------------------------------------------------------------------------

    def brief(self, atom: AtomState) -> AtomBrief:
        """The prompt material of an atom from the current state."""
        deps = [
            (d, self.state.atoms[d].code or "")
            for d in self.dependencies[atom.key]
            if self.state.atoms[d].code
        ]
        return AtomBrief(
            key=atom.key,
            file=atom.file,
            qualified_name=atom.qualified_name,
            kind=atom.kind,
            signature=atom.signature,
            intent=atom.intent,
            requirements=[f"{c}: {self.state.requirements.get(c, '')}" for c in atom.requirements],
            dependencies=deps,
            file_context=self.assembled(atom.file).text,
            feedback=atom.feedback,
        )

    async def ask_model(self, request: LLMRequest) -> str:
        """One generation call; returns the code of the answer."""
        response = await call_with_backoff(
            lambda: self.client.complete(
                request, user_id=self.state.owner_id, plan_id=self.state.plan_id
            ),
            self.breaker,
        )
        self.progress.cost_usd += response.cost_usd
        try:
            return extract_code(response.text)
        except UnusableAnswer:
            return response.text  # validated like any answer: it fails with a clear finding

    def new_request(self, atom: AtomState) -> dict[str, Any]:
        """The stored form of the request for the atom's next attempt."""
        if atom.attempts:
            self.progress.retries += 1
        return build_request(self.brief(atom)).model_dump(mode="json")

    def start(self, atom: AtomState, limit: int) -> None:
        """Mark the atom running and store the request of its next attempt, with the
        AtomStarted event, in one transaction. An answer or a request that survived a crash
        is used as it is instead."""
        fresh = atom.pending_code is None and atom.pending_request is None
        request = self.new_request(atom) if fresh and atom.attempts < limit else None
        with self.write(AtomStarted(payload={"atom": atom.key})) as connection:
            if request is None:
                update_atom(connection, atom, status="running")
            else:
                record_request(connection, atom, self.run_id, request)

    async def next_code(self, atom: AtomState) -> str:
        """The code to validate next: an answer stored before a crash, or the answer to the
        pending request (stored before it is sent; after a crash it is re-sent as it was, so
        the cache answers it), or to a new one."""
        if atom.pending_code is not None:
            return atom.pending_code
        if atom.pending_request is None:
            request = self.new_request(atom)
            with self.write() as connection:
                record_request(connection, atom, self.run_id, request)
        assert atom.pending_request is not None
        code = await self.ask_model(LLMRequest.model_validate(atom.pending_request))
        with autocommit(self.engine) as connection:  # one statement: no BEGIN/COMMIT needed
            record_answer(connection, atom, code)
        return code

    def check_l1(self, atom: AtomState, code: str) -> list[Finding]:
        """Level 1 for the atom's code placed in its file."""
        contract = AtomContract(
            atom.file, atom.qualified_name, atom.kind, atom.signature, tuple(atom.uses)
        )
        source = self.assembled(atom.file, override=(atom.key, code)).text
        found = check_atom(contract, code, file_source=source)
        return [f.blamed_on(atom.key) for f in found]

    async def produce(self, atom: AtomState) -> bool:
        """Generate and check the atom until it passes level 1 or runs out of attempts."""
        limit = self.options.max_attempts
        if atom.feedback.startswith(REJECTION_PREFIX):
            limit = max(limit, atom.attempts + 1)  # a reviewer's rejection earns a new attempt
        self.start(atom, limit)
        self.report()
        while (
            atom.pending_code is not None
            or atom.pending_request is not None
            or atom.attempts < limit
        ):
            code = await self.next_code(atom)
            found = await asyncio.to_thread(self.check_l1, atom, code)
            self.findings.extend(found)
            ids = {atom.key: atom.id}
            if not found:
                # A person's code that passes is theirs to vouch for: it does not go to review.
                status = "approved" if atom.pending_source == "human" else "validated"
                passed = pass_rows(
                    plan_id=self.state.plan_id,
                    level=Level.ATOM,
                    atom_ids=[atom.id],
                    run_id=self.run_id,
                )
                # The file first: the event must not announce code the folder does not have yet
                # (a crash in between is harmless: a resumed run rewrites every file).
                accepted = self.assembled(atom.file, override=(atom.key, code))
                self.writer.write_text(atom.file, accepted.text)
                validated = AtomValidated(payload={"atom": atom.key, "attempts": atom.attempts})
                with self.write(validated) as connection:
                    settle_attempt(
                        connection,
                        atom,
                        "passed",
                        None,
                        results=passed,
                        status=status,
                        code=code,
                        last_error=None,
                    )
                self.levels.setdefault(atom.key, {})[int(Level.ATOM)] = True
                self.report()
                return True
            feedback = feedback_for_atom(atom.key, found)
            failed = finding_rows(
                plan_id=self.state.plan_id, findings=found, atom_ids=ids, run_id=self.run_id
            )
            with self.write() as connection:
                settle_attempt(
                    connection,
                    atom,
                    "failed",
                    feedback,
                    results=failed,
                    status="pending",
                    last_error=found[0].message,
                )
        error = atom_error(self.findings, atom)
        with self.write(AtomFailed(payload={"atom": atom.key, "error": error})) as connection:
            update_atom(connection, atom, status="failed")
        open_review(
            self.engine,
            atom.id,
            reason=f"Failed validation after {atom.attempts} attempts.",
            confidence=0.0,
            validator_output=atom.feedback,
        )
        atom.status = "review"
        self.report()
        return False

    def record(
        self,
        found: list[Finding],
        atoms: list[AtomState],
        task_id: int | None = None,
        level: Level = Level.ATOM,
    ) -> None:
        """Store findings (and passes for the checked atoms with none) at one level."""
        self.findings.extend(found)
        blamed = {k for f in found for k in f.atom_keys}
        with session_scope(self.engine) as session:
            record_findings(
                session,
                plan_id=self.state.plan_id,
                findings=found,
                atom_ids={a.key: a.id for a in self.state.atoms.values()},
                task_id=task_id,
                run_id=self.run_id,
            )
            record_passes(
                session,
                plan_id=self.state.plan_id,
                level=level,
                atom_ids=[a.id for a in atoms if a.key not in blamed],
                task_id=task_id,
                run_id=self.run_id,
            )


def atom_error(findings: list[Finding], atom: AtomState) -> str:
    """The last finding blamed on an atom, as one line."""
    mine = [f.message for f in findings if atom.key in f.atom_keys]
    return mine[-1] if mine else "failed"


def schedule_graph(state: PlanState) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Work units (cycles condensed into one unit) and their (dependency, dependent) edges.

    A method also depends on its class shell, which must exist before it can be placed.
    """
    keys = list(state.atoms)
    by_name = {(a.file, a.qualified_name): a.key for a in state.atoms.values()}
    pairs = [(user, definer) for definer, user in state.edges]
    for atom in state.atoms.values():
        owner = by_name.get((atom.file, atom.qualified_name.rpartition(".")[0]))
        if atom.kind == "method" and owner:
            pairs.append((atom.key, owner))
    graph = graph_from_edges(keys, pairs)
    names = [unit[0] if len(unit) == 1 else f"cycle:{i}" for i, unit in enumerate(graph.units)]
    units = {names[i]: list(unit) for i, unit in enumerate(graph.units)}
    edges = [(names[a], names[b]) for a, b in graph.unit_edges]
    return units, edges


async def run_atoms(run: PlanRun) -> dict[str, str]:
    """Schedule every atom not yet done; returns blocked units with their failed ancestor."""
    units, edges = schedule_graph(run.state)
    done = {
        name
        for name, keys in units.items()
        if all(run.state.atoms[k].status in DONE_STATUSES for k in keys)
    }

    async def work(name: str) -> Outcome:
        ok = True
        for key in units[name]:
            atom = run.state.atoms[key]
            if atom.status not in DONE_STATUSES:
                ok = await run.produce(atom) and ok
        return Outcome.success() if ok else Outcome.failure(f"{name} failed validation")

    # Longest remaining path first, weighted by what the plan knows of each atom's length: a
    # model call takes about as long as the code it writes, and a cycle's atoms run in turn.
    costs = {
        name: float(sum(run.state.atoms[key].size_target for key in keys))
        for name, keys in units.items()
    }
    result = await run_schedule(
        units,
        edges,
        work,
        concurrency=run.options.concurrency,
        done=done,
        costs=costs,
        control=run.control,
        hooks=ScheduleHooks(),
    )
    return dict(result.blocked)
