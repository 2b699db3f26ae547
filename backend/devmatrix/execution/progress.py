"""What a run reports while it goes: a snapshot for progress bars, and the final summary."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunProgress:
    """Live counters of one run."""

    phase: str = "starting"
    total: int = 0
    done: int = 0
    running: int = 0
    retries: int = 0
    in_review: int = 0
    failed: int = 0
    cost_usd: float = 0.0


@dataclass
class RunSummary:
    """How a run ended."""

    run_id: int
    plan_id: int
    status: str
    progress: RunProgress
    verdicts: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    out_dir: str = ""
