"""Structured output: ask the model for JSON matching a pydantic schema, feed errors back, retry.

The loop is bounded: an answer that is not JSON, does not match the schema or fails the caller's
checks goes back to the model as the next user message, written for the model; after the last
retry a `PlanningError` lists what was still wrong. Nothing is saved here: callers save only a
result this function returned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from devmatrix.llm.types import LLMRequest, LLMResponse, Message
from devmatrix.planning.errors import PlanningError

M = TypeVar("M", bound=BaseModel)
Check = Callable[[M], list[str]]
DEFAULT_MAX_RETRIES = 3
_CUT_OFF = frozenset({"max_tokens", "length"})  # Anthropic's and OpenAI's stop reasons

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(?P<body>.*)\n```\s*$", re.DOTALL)


class CompletionClient(Protocol):
    """What planning needs of the LLM layer: `devmatrix.llm.client.LLMClient` satisfies it."""

    async def complete(
        self, request: LLMRequest, *, user_id: int | None = None, plan_id: int | None = None
    ) -> LLMResponse: ...


async def ask_structured(
    client: CompletionClient,
    schema: type[M],
    *,
    prompt: str,
    purpose: str,
    system: str | None = None,
    check: Check[M] | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    plan_id: int | None = None,
    user_id: int | None = None,
    max_tokens: int = 8192,
) -> M:
    """Ask until the answer parses, validates against `schema` and passes `check` (bounded)."""
    messages = [Message(role="user", content=prompt)]
    json_schema = schema.model_json_schema()
    problems: list[str] = []
    for _attempt in range(max_retries + 1):
        request = LLMRequest(
            messages=list(messages),
            system=system,
            json_schema=json_schema,
            purpose=purpose,
            max_tokens=max_tokens,
        )
        response = await client.complete(request, user_id=user_id, plan_id=plan_id)
        result, problems = parse_answer(response.text, schema, check)
        if result is not None:
            return result
        if response.stop_reason in _CUT_OFF:
            problems.insert(0, "The answer was cut off at the token limit; make it shorter.")
        messages.append(Message(role="assistant", content=response.text))
        messages.append(Message(role="user", content=feedback_for_model(problems)))
    raise PlanningError(
        f"The model's answer for {purpose!r} was still invalid after {max_retries + 1} attempts; "
        "nothing was saved.",
        "Use a stronger model (DEVMATRIX_LLM_MODEL) or make the spec clearer and shorter.",
        problems=problems,
    )


def parse_answer(
    text: str, schema: type[M], check: Check[M] | None = None
) -> tuple[M | None, list[str]]:
    """The validated result, or None and the problems found (written for the model)."""
    try:
        data: Any = json.loads(_strip_fence(text))
    except json.JSONDecodeError as exc:
        return None, [
            f"The answer is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ]
    try:
        result = schema.model_validate(data)
    except ValidationError as exc:
        return None, [_describe(error) for error in exc.errors()]
    problems = check(result) if check is not None else []
    return (None, problems) if problems else (result, [])


def feedback_for_model(problems: list[str]) -> str:
    """The next user message after an unusable answer: what was wrong and what to send instead."""
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        "Your previous answer cannot be used. Problems found:\n"
        f"{listed}\n"
        "Send the whole corrected answer again: one JSON object matching the schema, "
        "with no prose and no code fences."
    )


def _strip_fence(text: str) -> str:
    # Models often wrap JSON in a Markdown fence even when told not to; that is harmless.
    stripped = text.strip()
    match = _FENCE.match(stripped)
    return match.group("body") if match else stripped


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    got = error.get("input")
    shown = json.dumps(got)[:80] if isinstance(got, str | int | float | bool) else None
    suffix = f" (got {shown})" if shown is not None else ""
    return f"{where}: {error['msg']}{suffix}"
