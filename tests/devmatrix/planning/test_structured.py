"""The structured-output loop: invalid answers go back to the model with the errors, bounded."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from devmatrix.llm.client import LLMClient
from devmatrix.llm.types import LLMRequest, LLMResponse
from devmatrix.planning.discovery import discover
from devmatrix.planning.errors import PlanningError
from devmatrix.planning.schemas import DiscoverySpec
from devmatrix.planning.structured import ask_structured, parse_answer
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import DiscoveryDocument, Requirement

SPEC = "A command line tool that counts the words of a text file."


def _discovery(answers: list[dict[str, Any]]) -> dict[str, Any]:
    return next(a["answer"] for a in answers if a["purpose"] == "discovery")


async def test_invalid_json_is_fed_back_then_the_valid_answer_is_saved(
    engine: Engine, client_for: Any, todo_answers: list[dict[str, Any]]
) -> None:
    good = _discovery(todo_answers)
    # The second answer is only played if the feedback about the bad JSON reached the provider.
    client, recorder = client_for(
        [
            {"purpose": "discovery", "answer": '{"title": "Todo", "requirements": ['},
            {"purpose": "discovery", "contains": "is not valid JSON", "answer": good},
        ]
    )
    document_id, discovery = await discover(client, engine, SPEC)

    assert discovery.title == "Todo library"
    assert len(recorder.requests) == 2
    retry = recorder.requests[1]
    assert [m.role for m in retry.messages] == ["user", "assistant", "user"]
    assert retry.messages[1].content.startswith('{"title": "Todo"')
    assert "Your previous answer cannot be used" in retry.messages[2].content
    with session_scope(engine) as session:
        assert session.get(DiscoveryDocument, document_id) is not None


async def test_schema_errors_name_the_field_for_the_model(
    engine: Engine, client_for: Any, todo_answers: list[dict[str, Any]]
) -> None:
    good = _discovery(todo_answers)
    bad = json.loads(json.dumps(good))
    del bad["requirements"][1]["acceptance_criteria"]
    bad["requirements"][2]["code"] = "R3"
    client, recorder = client_for(
        [
            {"purpose": "discovery", "answer": bad},
            {
                "purpose": "discovery",
                "contains": "requirements.1.acceptance_criteria",
                "answer": good,
            },
        ]
    )
    await discover(client, engine, SPEC)
    feedback = recorder.requests[1].messages[-1].content
    assert "requirements.1.acceptance_criteria: Field required" in feedback
    assert "requirements.2.code: String should match pattern" in feedback
    assert '(got "R3")' in feedback


async def test_after_the_last_retry_a_planning_error_lists_the_problems_and_nothing_is_saved(
    engine: Engine, client_for: Any
) -> None:
    client, recorder = client_for(
        [{"purpose": "discovery", "answer": f"not json, try {i}"} for i in range(4)]
    )
    with pytest.raises(PlanningError) as caught:
        await discover(client, engine, SPEC, max_retries=3)

    assert len(recorder.requests) == 4
    assert "still invalid after 4 attempts" in str(caught.value)
    assert "The answer is not valid JSON" in str(caught.value)
    assert caught.value.problems
    with session_scope(engine) as session:
        assert session.exec(select(DiscoveryDocument)).all() == []
        assert session.exec(select(Requirement)).all() == []


def test_a_markdown_fenced_answer_is_accepted(todo_answers: list[dict[str, Any]]) -> None:
    text = "```json\n" + json.dumps(_discovery(todo_answers)) + "\n```"
    result, problems = parse_answer(text, DiscoverySpec)
    assert problems == []
    assert result is not None
    assert [r.code for r in result.requirements] == ["REQ-1", "REQ-2", "REQ-3"]


def test_unknown_keys_are_problems_not_silently_dropped(todo_answers: list[dict[str, Any]]) -> None:
    answer = {**_discovery(todo_answers), "priority": "high"}
    result, problems = parse_answer(json.dumps(answer), DiscoverySpec)
    assert result is None
    assert problems == ['priority: Extra inputs are not permitted (got "high")']


class CutOffFirst:
    """A provider whose first answer stops at the token limit, then answers in full."""

    name: ClassVar[str] = "cutoff"

    def __init__(self, full: str) -> None:
        self.full = full
        self.requests: list[LLMRequest] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        cut = len(self.requests) == 1
        text = self.full[: len(self.full) // 2] if cut else self.full
        stop = "max_tokens" if cut else "end_turn"
        return LLMResponse(text=text, model="m", provider=self.name, stop_reason=stop)


async def test_a_cut_off_answer_is_told_to_be_shorter(
    engine: Engine, todo_answers: list[dict[str, Any]]
) -> None:
    provider = CutOffFirst(json.dumps(_discovery(todo_answers)))
    discovery = await ask_structured(
        LLMClient(provider, engine=engine), DiscoverySpec, prompt=SPEC, purpose="discovery"
    )
    assert discovery.title == "Todo library"
    feedback = provider.requests[1].messages[-1].content
    assert "- The answer was cut off at the token limit; make it shorter." in feedback
    assert "The answer is not valid JSON" in feedback
