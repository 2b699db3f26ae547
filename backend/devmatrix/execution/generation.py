"""The prompt for one atom, and the code taken out of the model's answer.

The prompt carries the atom's contract, the requirements it serves, the code of the atoms it
depends on, the file around it, retrieved examples, and the feedback of the last failed attempt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from devmatrix.errors import LLMError
from devmatrix.llm.types import LLMRequest, Message

SYSTEM = (
    "You write one Python definition at a time for a project planned by DevMatrix. Answer with "
    "exactly one fenced ```python block holding the import statements your code needs, then the "
    "single definition you are asked for (a function, a class shell without its methods, one "
    "method, a test function, or a block of constants), with exactly the planned signature. "
    "Do not repeat other definitions of the file; they already exist. No prose outside the block."
)
_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


class UnusableAnswer(LLMError):
    """The model answered without any code."""


@dataclass(frozen=True)
class AtomBrief:
    """Everything the prompt of one atom is made of."""

    key: str
    file: str
    qualified_name: str
    kind: str
    signature: str
    intent: str
    requirements: Sequence[str]  # "REQ-1: text" lines
    dependencies: Sequence[tuple[str, str]]  # (atom key, its current code)
    file_context: str
    examples: Sequence[str] = ()
    feedback: str = ""


def atom_purpose(key: str) -> str:
    """The stable label of an atom's generation call (the scripted provider answers by it)."""
    return f"atom:{key}"


def build_request(brief: AtomBrief) -> LLMRequest:
    """The request asking the model for one atom's code."""
    parts = [
        f"Write `{brief.qualified_name}` ({brief.kind}) in `{brief.file}`.",
        f"Planned signature: `{brief.signature}`",
        f"Intent: {brief.intent}",
    ]
    if brief.requirements:
        parts.append("Requirements it serves:\n" + "\n".join(f"- {r}" for r in brief.requirements))
    for key, code in brief.dependencies:
        parts.append(f"It uses `{key}`, already written:\n```python\n{code.strip()}\n```")
    if brief.file_context.strip():
        parts.append(f"The file so far:\n```python\n{brief.file_context.strip()}\n```")
    for example in brief.examples:
        parts.append(f"A validated example of similar code:\n```python\n{example.strip()}\n```")
    if brief.feedback:
        parts.append(brief.feedback)
    return LLMRequest(
        system=SYSTEM,
        messages=[Message(role="user", content="\n\n".join(parts))],
        purpose=atom_purpose(brief.key),
        max_tokens=2048,
    )


def extract_code(answer: str) -> str:
    """The code of an answer: its fenced blocks joined, or the whole text when it has no fence."""
    blocks = [b.strip("\n") for b in _FENCE.findall(answer)]
    code = "\n\n".join(b for b in blocks if b.strip()) if blocks else answer.strip()
    if not code.strip():
        raise UnusableAnswer("The model's answer holds no code.")
    return code + "\n"


def build_acceptance_request(
    requirement: str, text: str, criteria: Sequence[str], api: str
) -> LLMRequest:
    """The request for one requirement's acceptance test file (pytest)."""
    lines = "\n".join(f"- {c}" for c in criteria) or "- (none given: test the requirement itself)"
    prompt = (
        f"Write the acceptance test file for {requirement}: {text}\n\nAcceptance criteria:\n"
        f"{lines}\n\nThe project's public definitions:\n{api}\n\n"
        "Answer with one fenced ```python block: a complete pytest module whose test function "
        f"names contain `{requirement.lower().replace('-', '_')}`, one test per criterion, "
        "importing the project by its package names. Use only the standard library and pytest."
    )
    return LLMRequest(
        system="You write acceptance tests that check a requirement is met, from its criteria.",
        messages=[Message(role="user", content=prompt)],
        purpose=f"acceptance:{requirement}",
        max_tokens=4096,
    )
