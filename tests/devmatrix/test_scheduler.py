"""The ready-set scheduler on real asyncio: work is gated by events the test opens, never mocked."""

from __future__ import annotations

import asyncio
import random
from itertools import pairwise

import pytest

from devmatrix.scheduler import (
    DependencyCycle,
    Edge,
    Outcome,
    ScheduleControl,
    ScheduleError,
    ScheduleHooks,
    remaining_path_lengths,
    run_schedule,
    waves,
)


class GatedWork:
    """Work whose atoms wait for the test to open their gate; ungated atoms finish at once."""

    def __init__(self, gated: set[str] | None = None, failing: set[str] = frozenset()) -> None:
        self.gated = gated or set()
        self.failing = failing
        self.gates: dict[str, asyncio.Event] = {}
        self.started_events: dict[str, asyncio.Event] = {}
        self.log: list[tuple[str, str]] = []

    def _event(self, table: dict[str, asyncio.Event], node: str) -> asyncio.Event:
        return table.setdefault(node, asyncio.Event())

    def open(self, node: str) -> None:
        self._event(self.gates, node).set()

    async def started(self, node: str) -> None:
        await asyncio.wait_for(self._event(self.started_events, node).wait(), timeout=5)

    async def __call__(self, node: str) -> Outcome:
        self.log.append(("start", node))
        self._event(self.started_events, node).set()
        try:
            if node in self.gated:
                await self._event(self.gates, node).wait()
            else:
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.log.append(("cancelled", node))
            raise
        self.log.append(("end", node))
        return Outcome.failure("planned failure") if node in self.failing else Outcome.success()

    def starts(self) -> list[str]:
        return [node for kind, node in self.log if kind == "start"]

    def position(self, kind: str, node: str) -> int:
        return self.log.index((kind, node))


async def settle() -> None:
    """Let the event loop run everything that is runnable now."""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_slow_atom_does_not_hold_back_unrelated_work() -> None:
    # Waves would be [slow, a], [b, after_slow], [c]: b and c must not wait for slow.
    nodes = ["slow", "a", "b", "c", "after_slow"]
    edges: list[Edge] = [("a", "b"), ("b", "c"), ("slow", "after_slow")]
    work = GatedWork(gated={"slow"})
    run = asyncio.create_task(run_schedule(nodes, edges, work, concurrency=4))
    await work.started("c")
    await settle()
    assert ("end", "c") in work.log  # the whole chain finished while slow still runs
    assert ("end", "slow") not in work.log
    work.open("slow")
    result = await asyncio.wait_for(run, timeout=5)
    assert work.position("end", "c") < work.position("end", "slow")
    assert work.position("end", "slow") < work.position("start", "after_slow")
    assert sorted(result.finished) == sorted(nodes)
    assert result.complete


async def test_longest_remaining_path_starts_first_with_concurrency_one() -> None:
    nodes = ["a", "e", "b", "f", "c", "d"]
    edges: list[Edge] = [("b", "c"), ("c", "d"), ("e", "f")]
    work = GatedWork()
    await run_schedule(nodes, edges, work, concurrency=1)
    # b heads the longest chain (3); e and c tie at 2 and e comes first in the input.
    assert work.starts() == ["b", "e", "c", "a", "f", "d"]


async def test_cost_estimates_weight_the_priority() -> None:
    nodes = ["a", "e", "b", "f", "c", "d"]
    edges: list[Edge] = [("b", "c"), ("c", "d"), ("e", "f")]
    work = GatedWork()
    await run_schedule(nodes, edges, work, concurrency=1, costs={"a": 10.0})
    assert work.starts()[0] == "a"
    lengths = remaining_path_lengths(nodes, edges, {"d": 5.0})
    assert lengths == {"a": 1.0, "e": 2.0, "f": 1.0, "b": 7.0, "c": 6.0, "d": 5.0}


def layered_dag(layers: int, width: int, seed: int) -> tuple[list[str], list[Edge]]:
    rng = random.Random(seed)
    grid = [[f"n{layer}_{i}" for i in range(width)] for layer in range(layers)]
    edges: list[Edge] = []
    for layer in range(1, layers):
        for node in grid[layer]:
            for dependency in rng.sample(grid[layer - 1], 2):
                edges.append((dependency, node))
    return [node for row in grid for node in row], edges


async def test_concurrency_limit_is_reached_and_never_exceeded() -> None:
    nodes, edges = layered_dag(layers=10, width=20, seed=7)
    rng = random.Random(3)
    in_flight = 0
    peak = 0
    finished: set[str] = set()
    dependencies: dict[str, set[str]] = {node: set() for node in nodes}
    for dependency, dependent in edges:
        dependencies[dependent].add(dependency)

    async def work(node: str) -> Outcome:
        nonlocal in_flight, peak
        assert dependencies[node] <= finished, f"{node} started before its dependencies"
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(rng.random() / 1000)
        in_flight -= 1
        finished.add(node)
        return Outcome.success()

    result = await run_schedule(nodes, edges, work, concurrency=5)
    assert peak == 5
    assert finished == set(nodes)
    assert result.complete


async def test_pause_lets_running_atoms_finish_and_starts_nothing_until_resume() -> None:
    nodes = [f"n{i}" for i in range(6)]
    work = GatedWork(gated=set(nodes))
    control = ScheduleControl()
    run = asyncio.create_task(run_schedule(nodes, [], work, concurrency=2, control=control))
    await work.started("n0")
    await work.started("n1")
    control.pause()
    work.open("n0")
    work.open("n1")
    await settle()
    assert work.starts() == ["n0", "n1"]
    assert ("end", "n0") in work.log
    assert ("end", "n1") in work.log
    assert not run.done()  # paused, not over
    for node in nodes[2:]:
        work.open(node)
    control.resume()
    result = await asyncio.wait_for(run, timeout=5)
    assert work.starts() == nodes
    assert result.complete


async def test_cancel_cancels_running_atoms_and_reports_the_rest_as_not_started() -> None:
    nodes = ["a", "b", "c", "d", "e"]
    edges: list[Edge] = [("a", "e")]
    work = GatedWork(gated=set(nodes))
    control = ScheduleControl()
    run = asyncio.create_task(run_schedule(nodes, edges, work, concurrency=2, control=control))
    await work.started("a")
    await work.started("b")
    control.cancel()
    result = await asyncio.wait_for(run, timeout=5)
    assert sorted(result.cancelled) == ["a", "b"]
    assert ("cancelled", "a") in work.log
    assert ("cancelled", "b") in work.log
    assert result.not_started == ["c", "d", "e"]  # ready ones first, then e, still waiting on a
    assert result.finished == []
    assert not result.complete


async def test_cancel_while_paused_ends_the_run() -> None:
    work = GatedWork(gated={"a"})
    control = ScheduleControl()
    run = asyncio.create_task(run_schedule(["a", "b"], [], work, concurrency=1, control=control))
    await work.started("a")
    control.pause()
    work.open("a")
    await settle()
    control.cancel()
    result = await asyncio.wait_for(run, timeout=5)
    assert result.finished == ["a"]
    assert result.not_started == ["b"]
    assert result.cancelled == []


async def test_failure_blocks_only_its_dependents() -> None:
    nodes = ["a", "b", "c", "d", "e", "f", "g"]
    edges: list[Edge] = [("a", "b"), ("b", "c"), ("a", "d"), ("e", "f"), ("c", "g"), ("f", "g")]
    blocked_seen: list[tuple[str, str]] = []
    hooks = ScheduleHooks(on_blocked=lambda node, ancestor: blocked_seen.append((node, ancestor)))
    work = GatedWork(failing={"b"})
    result = await run_schedule(nodes, edges, work, concurrency=3, hooks=hooks)
    assert set(result.failed) == {"b"}
    assert result.failed["b"].detail == "planned failure"
    assert result.blocked == {"c": "b", "g": "b"}
    assert sorted(blocked_seen) == [("c", "b"), ("g", "b")]
    assert sorted(result.finished) == ["a", "d", "e", "f"]
    assert "c" not in work.starts()
    assert "g" not in work.starts()


async def test_work_that_raises_is_that_atoms_failure() -> None:
    async def work(node: str) -> Outcome:
        if node == "boom":
            raise RuntimeError("sandbox crashed")
        return Outcome.success()

    result = await run_schedule(["boom", "x", "y"], [("boom", "y")], work, concurrency=2)
    assert result.failed["boom"].detail == "RuntimeError: sandbox crashed"
    assert isinstance(result.failed["boom"].error, RuntimeError)
    assert result.blocked == {"y": "boom"}
    assert result.finished == ["x"]


async def test_resume_with_done_set_never_reruns_done_atoms() -> None:
    nodes = ["a", "b", "c", "d"]
    edges: list[Edge] = [("a", "b"), ("b", "c"), ("a", "d")]
    work = GatedWork()
    result = await run_schedule(nodes, edges, work, concurrency=2, done={"a", "b"})
    assert sorted(work.starts()) == ["c", "d"]
    assert sorted(result.finished) == ["c", "d"]
    assert result.complete


async def test_hooks_run_around_work_and_before_dependents_start() -> None:
    events: list[str] = []

    async def on_finished(node: str, outcome: Outcome) -> None:
        await asyncio.sleep(0)  # an async hook (e.g. publishing an event) is awaited
        events.append(f"finished:{node}:{outcome.ok}")

    async def work(node: str) -> Outcome:
        events.append(f"work:{node}")
        return Outcome.success()

    hooks = ScheduleHooks(
        on_started=lambda node: events.append(f"started:{node}"), on_finished=on_finished
    )
    await run_schedule(["a", "b"], [("a", "b")], work, concurrency=2, hooks=hooks)
    assert events == [
        "started:a",
        "work:a",
        "finished:a:True",
        "started:b",
        "work:b",
        "finished:b:True",
    ]


async def test_a_failing_hook_stops_the_run_and_cancels_running_work() -> None:
    class StoreDown(Exception):
        pass

    def on_finished(node: str, outcome: Outcome) -> None:
        if node == "quick":
            raise StoreDown("database is gone")

    work = GatedWork(gated={"slow"})
    hooks = ScheduleHooks(on_finished=on_finished)
    schedule = run_schedule(["slow", "quick"], [], work, concurrency=2, hooks=hooks)
    with pytest.raises(StoreDown):
        await asyncio.wait_for(schedule, timeout=5)
    assert ("cancelled", "slow") in work.log


async def test_cancelling_the_schedule_task_cancels_its_work() -> None:
    work = GatedWork(gated={"a"})
    run = asyncio.create_task(run_schedule(["a"], [], work, concurrency=1))
    await work.started("a")
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run, timeout=5)
    assert ("cancelled", "a") in work.log


async def test_cycle_is_rejected_up_front_and_named() -> None:
    nodes = ["ok", "x", "y", "z"]
    edges: list[Edge] = [("ok", "x"), ("x", "y"), ("y", "z"), ("z", "x")]
    work = GatedWork()
    with pytest.raises(DependencyCycle) as caught:
        await run_schedule(nodes, edges, work, concurrency=2)
    cycle = caught.value.cycle
    assert cycle[0] == cycle[-1]
    assert sorted(cycle[:-1]) == ["x", "y", "z"]
    assert all(step in edges for step in pairwise(cycle))  # dependency order
    assert " -> ".join(cycle) in str(caught.value)
    assert work.log == []  # nothing ran
    with pytest.raises(DependencyCycle, match="a -> a"):
        waves(["a"], [("a", "a")])


async def test_bad_input_is_refused_with_a_clear_error() -> None:
    work = GatedWork()
    with pytest.raises(ScheduleError, match="'ghost', which is not a node"):
        await run_schedule(["a"], [("a", "ghost")], work, concurrency=1)
    with pytest.raises(ScheduleError, match="not in the graph: ghost"):
        await run_schedule(["a"], [], work, concurrency=1, done={"ghost"})
    with pytest.raises(ScheduleError, match="concurrency must be at least 1"):
        await run_schedule(["a"], [], work, concurrency=0)


def test_waves_are_topological_generations() -> None:
    nodes = ["a", "b", "c", "d", "e"]
    edges: list[Edge] = [("a", "c"), ("b", "c"), ("c", "d"), ("a", "d")]
    assert waves(nodes, edges) == [["a", "b", "e"], ["c"], ["d"]]
    assert waves([], []) == []
