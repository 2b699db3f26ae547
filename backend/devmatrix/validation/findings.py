"""What a validator found: one `Finding` per problem, with a message for a person and feedback for the model.

Codes are stable strings (stored in `validation_result.code`, matched by the editor and the tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import Any


class Level(IntEnum):
    """The four validation levels: atom, task, milestone, plan."""

    ATOM = 1
    TASK = 2
    MILESTONE = 3
    PLAN = 4


class Code(StrEnum):
    """Stable finding codes; the prefix names the level that produced them."""

    SYNTAX_ERROR = "L1-syntax-error"
    WRONG_SYMBOL = "L1-wrong-symbol"
    SIGNATURE_MISMATCH = "L1-signature-mismatch"
    UNDEFINED_NAME = "L1-undefined-name"
    TASK_IMPORT_ERROR = "L2-import-error"
    TASK_TEST_FAILED = "L2-test-failed"
    PACKAGE_IMPORT_ERROR = "L3-import-error"
    LINT = "L3-lint"
    MILESTONE_TEST_FAILED = "L3-test-failed"
    ACCEPTANCE_FAILED = "L4-acceptance-failed"
    SANDBOX_TIMEOUT = "sandbox-timeout"
    SANDBOX_LIMIT = "sandbox-limit"


@dataclass(frozen=True)
class Finding:
    """One failed check: where it is, which atoms it is blamed on, and what the model should change.

    `message` is one line for a person; `feedback` is written for the model (what failed, the
    relevant output, the line, what to change) and becomes part of the blamed atoms' next prompt.
    """

    level: Level
    code: Code
    message: str
    feedback: str
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    atom_keys: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def blamed_on(self, *atom_keys: str) -> Finding:
        """A copy of this finding mapped to the given atoms (duplicates dropped, order kept)."""
        return replace(self, atom_keys=tuple(dict.fromkeys(atom_keys)))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (CLI `--format json`, API payloads)."""
        return {
            "level": int(self.level),
            "code": str(self.code),
            "message": self.message,
            "feedback": self.feedback,
            "file": self.file,
            "line": self.line,
            "end_line": self.end_line,
            "atom_keys": list(self.atom_keys),
            "details": self.details,
        }


def trim_output(text: str, *, max_lines: int = 40, max_chars: int = 2000) -> str:
    """Keep the head and the tail of a long tool output; the middle is replaced by a marker line."""
    lines = text.strip("\n").splitlines()
    if len(lines) > max_lines:
        head = max_lines // 3
        tail = max_lines - head
        cut = len(lines) - head - tail
        lines = [*lines[:head], f"... ({cut} lines cut) ...", *lines[-tail:]]
    out = "\n".join(lines)
    if len(out) > max_chars:
        half = max_chars // 2
        out = f"{out[:half]}\n... ({len(out) - max_chars} characters cut) ...\n{out[-half:]}"
    return out
