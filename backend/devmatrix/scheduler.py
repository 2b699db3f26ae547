"""Ready-set scheduler: runs a DAG of atoms on asyncio, each as soon as its own dependencies are done.

Longest remaining path first, at most `concurrency` atoms in flight, with pause, resume and cancel.
Written by hand because `graphlib.TopologicalSorter` has the ready-set shape (`get_ready()`/`done()`)
but no priorities, concurrency limit, failure blocking or cancellation; graphlib still names cycles.
Waves (topological generations) are computed for display only and are never used as barriers.
"""

from __future__ import annotations

import asyncio
import graphlib
import heapq
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from devmatrix.errors import DevMatrixError

Edge = tuple[str, str]  # (dependency, dependent)


class ScheduleError(DevMatrixError):
    """The graph or the options given to the scheduler cannot be run."""


class DependencyCycle(ScheduleError):
    """The graph has a cycle; `cycle` lists it in dependency order, first node repeated at the end."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__(
            f"The atoms form a dependency cycle: {' -> '.join(cycle)}.",
            "Condense cycles into one unit (or drop one of these edges) before scheduling.",
        )
        self.cycle = cycle


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one unit of work ended with; `error` is set when the work raised instead of answering."""

    ok: bool
    detail: str = ""
    error: BaseException | None = None

    @classmethod
    def success(cls, detail: str = "") -> Outcome:
        """A unit that finished well."""
        return cls(ok=True, detail=detail)

    @classmethod
    def failure(cls, detail: str, error: BaseException | None = None) -> Outcome:
        """A unit that failed; its dependents will be blocked."""
        return cls(ok=False, detail=detail, error=error)


Work = Callable[[str], Awaitable[Outcome]]
NodeHook = Callable[[str], Awaitable[None] | None]
OutcomeHook = Callable[[str, Outcome], Awaitable[None] | None]
BlockedHook = Callable[[str, str], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class ScheduleHooks:
    """Callbacks (plain or async) through which the engine persists state and publishes events.

    `on_started` runs before the work, `on_finished`/`on_failed` after it and before any dependent
    starts, `on_blocked(node, failed_ancestor)` when a failure rules a node out. A hook that raises
    stops the whole schedule (running work is cancelled) and the error propagates to the caller.
    """

    on_started: NodeHook | None = None
    on_finished: OutcomeHook | None = None
    on_failed: OutcomeHook | None = None
    on_blocked: BlockedHook | None = None


class ScheduleControl:
    """Pause, resume or cancel a running schedule from outside (e.g. a CLI signal or an API call)."""

    def __init__(self) -> None:
        self._paused = False
        self._cancelled = False
        self._listeners: list[Callable[[], None]] = []

    @property
    def paused(self) -> bool:
        """True while no new atom may start."""
        return self._paused

    @property
    def cancelled(self) -> bool:
        """True once cancel() was called; final."""
        return self._cancelled

    def pause(self) -> None:
        """Start nothing new; atoms already running finish."""
        self._paused = True
        self._notify()

    def resume(self) -> None:
        """Allow new starts again after pause()."""
        self._paused = False
        self._notify()

    def cancel(self) -> None:
        """Start nothing new and cancel the running atoms."""
        self._cancelled = True
        self._notify()

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` on every change; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


@dataclass
class ScheduleResult:
    """How every node not given as already done ended up. Lists are in event order."""

    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    failed: dict[str, Outcome] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)  # node -> the failed ancestor
    cancelled: list[str] = field(default_factory=list)  # were running when cancel() came
    not_started: list[str] = field(default_factory=list)  # left by cancel(): ready ones first

    @property
    def complete(self) -> bool:
        """True when every node ran and succeeded."""
        return not (self.failed or self.blocked or self.cancelled or self.not_started)


@dataclass(frozen=True, slots=True)
class _Graph:
    nodes: tuple[str, ...]
    dependents: dict[str, list[str]]
    dependency_count: dict[str, int]
    order: tuple[str, ...]  # a topological order


def _build_graph(nodes: Iterable[str], edges: Iterable[Edge]) -> _Graph:
    node_list = tuple(dict.fromkeys(nodes))
    dependents: dict[str, list[str]] = {node: [] for node in node_list}
    count = dict.fromkeys(node_list, 0)
    for dependency, dependent in dict.fromkeys(edges):
        for end in (dependency, dependent):
            if end not in dependents:
                raise ScheduleError(
                    f"Edge {dependency} -> {dependent} names '{end}', which is not a node.",
                    "Pass every node that appears in an edge in `nodes`.",
                )
        dependents[dependency].append(dependent)
        count[dependent] += 1
    order = _topological_order(node_list, dependents, count)
    if len(order) < len(node_list):
        raise DependencyCycle(_find_cycle(dependents))
    return _Graph(node_list, dependents, count, order)


def _topological_order(
    nodes: tuple[str, ...], dependents: dict[str, list[str]], count: dict[str, int]
) -> tuple[str, ...]:
    left = dict(count)
    order = [node for node in nodes if left[node] == 0]
    for node in order:  # the list grows while we walk it (Kahn's algorithm)
        for dependent in dependents[node]:
            left[dependent] -= 1
            if left[dependent] == 0:
                order.append(dependent)
    return tuple(order)


def _find_cycle(dependents: dict[str, list[str]]) -> list[str]:
    predecessors: dict[str, list[str]] = {node: [] for node in dependents}
    for node, children in dependents.items():
        for child in children:
            predecessors[child].append(node)
    try:
        graphlib.TopologicalSorter(predecessors).prepare()
    except graphlib.CycleError as error:
        return [str(node) for node in error.args[1]]
    raise AssertionError("Kahn's algorithm saw a cycle that graphlib does not")  # pragma: no cover


def remaining_path_lengths(
    nodes: Iterable[str], edges: Iterable[Edge], costs: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Per node, the cost of the longest path from it to a sink, its own cost included (default 1)."""
    return _path_lengths(_build_graph(nodes, edges), costs)


def _path_lengths(graph: _Graph, costs: Mapping[str, float] | None) -> dict[str, float]:
    lengths: dict[str, float] = {}
    for node in reversed(graph.order):
        own = 1.0 if costs is None else float(costs.get(node, 1.0))
        lengths[node] = own + max((lengths[d] for d in graph.dependents[node]), default=0.0)
    return lengths


def waves(nodes: Iterable[str], edges: Iterable[Edge]) -> list[list[str]]:
    """Topological generations, for display and the API only: the scheduler never waits on them."""
    graph = _build_graph(nodes, edges)
    left = dict(graph.dependency_count)
    current = [node for node in graph.nodes if left[node] == 0]
    generations: list[list[str]] = []
    while current:
        generations.append(current)
        following: list[str] = []
        for node in current:
            for dependent in graph.dependents[node]:
                left[dependent] -= 1
                if left[dependent] == 0:
                    following.append(dependent)
        current = following
    return generations


async def run_schedule(
    nodes: Iterable[str],
    edges: Iterable[Edge],
    work: Work,
    *,
    concurrency: int,
    done: Collection[str] = frozenset(),
    costs: Mapping[str, float] | None = None,
    control: ScheduleControl | None = None,
    hooks: ScheduleHooks | None = None,
) -> ScheduleResult:
    """Run `work(node)` for every node not in `done`, each once its dependencies have succeeded.

    Ready nodes start longest-remaining-path first (weighted by `costs`), never more than
    `concurrency` at once. A failed node blocks its dependents only; the rest goes on.
    """
    if concurrency < 1:
        raise ScheduleError(f"concurrency must be at least 1, got {concurrency}.")
    graph = _build_graph(nodes, edges)
    unknown = sorted(set(done) - set(graph.nodes))
    if unknown:
        raise ScheduleError(
            f"Nodes given as done are not in the graph: {', '.join(unknown[:5])}.",
            "Pass only ids of nodes of this graph in `done`.",
        )
    priority = _path_lengths(graph, costs)
    run = _Run(
        graph, work, concurrency, control or ScheduleControl(), hooks or ScheduleHooks(), priority
    )
    return await run.execute(frozenset(done))


class _Run:
    """The state of one schedule while it runs."""

    def __init__(
        self,
        graph: _Graph,
        work: Work,
        concurrency: int,
        control: ScheduleControl,
        hooks: ScheduleHooks,
        priority: dict[str, float],
    ) -> None:
        self.graph = graph
        self.work = work
        self.concurrency = concurrency
        self.control = control
        self.hooks = hooks
        self.waiting_on = dict(graph.dependency_count)
        self.ready: list[tuple[float, int, str]] = []  # heap of (-priority, input position, node)
        self.running: dict[asyncio.Task[Outcome], str] = {}
        # Finished tasks and control changes (None) arrive here, so one await serves both.
        self.inbox: asyncio.Queue[asyncio.Task[Outcome] | None] = asyncio.Queue()
        self.result = ScheduleResult()
        self.priority = priority
        self.position = {node: index for index, node in enumerate(graph.nodes)}

    async def execute(self, done: frozenset[str]) -> ScheduleResult:
        self._seed(done)
        unsubscribe = self.control.subscribe(lambda: self.inbox.put_nowait(None))
        try:
            while await self._step():
                pass
        finally:
            unsubscribe()
            await self._abandon_running()
        return self._finish(done)

    def _finish(self, done: frozenset[str]) -> ScheduleResult:
        ready = [node for _, _, node in sorted(self.ready)]
        accounted = done | set(ready) | set(self.result.started) | self.result.blocked.keys()
        waiting = [node for node in self.graph.nodes if node not in accounted]
        self.result.not_started = ready + waiting
        return self.result

    def _seed(self, done: frozenset[str]) -> None:
        for node in done:
            for dependent in self.graph.dependents[node]:
                self.waiting_on[dependent] -= 1
        for node in self.graph.nodes:
            if node not in done and self.waiting_on[node] == 0:
                self._push_ready(node)
        self.waiting_on.update(dict.fromkeys(done, -1))  # never becomes ready again

    def _push_ready(self, node: str) -> None:
        heapq.heappush(self.ready, (-self.priority[node], self.position[node], node))

    async def _step(self) -> bool:
        """Start what may start, then wait for one event; False when the schedule is over."""
        if self.control.cancelled:
            await self._cancel_running()
            return False
        if not self.control.paused:
            self._start_ready()
        if not self.running and not (self.control.paused and self.ready):
            return False  # all done, or all left is blocked; a paused run with work waits
        event = await self.inbox.get()
        if event is not None and event in self.running:
            await self._settle(event)
        return True

    def _start_ready(self) -> None:
        while self.ready and len(self.running) < self.concurrency:
            _, _, node = heapq.heappop(self.ready)
            task = asyncio.create_task(self._attempt(node), name=f"atom:{node}")
            self.running[task] = node
            self.result.started.append(node)
            task.add_done_callback(self.inbox.put_nowait)

    async def _attempt(self, node: str) -> Outcome:
        if self.hooks.on_started is not None:
            await _completed(self.hooks.on_started(node))
        try:
            outcome = await self.work(node)
        except Exception as error:  # noqa: BLE001 -- a crashing atom is that atom's failure, reported in the result
            outcome = Outcome.failure(f"{type(error).__name__}: {error}", error=error)
        hook = self.hooks.on_finished if outcome.ok else self.hooks.on_failed
        if hook is not None:
            await _completed(hook(node, outcome))
        return outcome

    async def _settle(self, task: asyncio.Task[Outcome]) -> None:
        node = self.running.pop(task)
        outcome = task.result()  # re-raises a hook's error: the run cannot record its state
        if not outcome.ok:
            self.result.failed[node] = outcome
            await self._block_dependents(node)
            return
        self.result.finished.append(node)
        for dependent in self.graph.dependents[node]:
            self.waiting_on[dependent] -= 1
            if self.waiting_on[dependent] == 0:
                self._push_ready(dependent)

    async def _block_dependents(self, failed: str) -> None:
        pending = list(self.graph.dependents[failed])
        while pending:
            node = pending.pop()
            if node in self.result.blocked:
                continue
            self.result.blocked[node] = failed
            if self.hooks.on_blocked is not None:
                await _completed(self.hooks.on_blocked(node, failed))
            pending.extend(self.graph.dependents[node])

    async def _cancel_running(self) -> None:
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for task in tasks:
            if task.cancelled():
                self.result.cancelled.append(self.running.pop(task))
            else:  # it finished before the cancellation reached it
                await self._settle(task)

    async def _abandon_running(self) -> None:
        # Only finds work still running when the schedule itself failed (a hook raised) or was
        # cancelled from outside; that original error is the one propagating, so these tasks'
        # own ends are not reported.
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


async def _completed(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value
