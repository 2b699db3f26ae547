"""The scripted provider plays prepared answers in order and names any request it cannot answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devmatrix.config import load_settings
from devmatrix.errors import ConfigError, LLMError
from devmatrix.llm.errors import ScriptedAnswerMissing
from devmatrix.llm.scripted_provider import ScriptedProvider, text_pieces
from devmatrix.llm.types import LLMRequest, Message


def write_answers(path: Path, answers: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"answers": answers}), encoding="utf-8")
    return path


def ask(text: str, purpose: str) -> LLMRequest:
    return LLMRequest(messages=[Message(role="user", content=text)], purpose=purpose)


ANSWERS: list[dict[str, object]] = [
    {"purpose": "discovery", "answer": "first discovery"},
    {"purpose": "masterplan", "answer": {"phases": ["Setup"]}},
    {"purpose": "discovery", "answer": "second discovery"},
    {"purpose": "atom:app.py::main", "contains": "def main", "answer": "def main(): ..."},
]


async def test_same_purpose_answers_play_in_file_order(tmp_path: Path) -> None:
    scripted = ScriptedProvider.from_file(write_answers(tmp_path / "a.json", ANSWERS))

    first = await scripted.complete(ask("spec one", "discovery"))
    plan = await scripted.complete(ask("plan it", "masterplan"))
    second = await scripted.complete(ask("spec two", "discovery"))

    assert (first.text, second.text) == ("first discovery", "second discovery")
    assert json.loads(plan.text) == {"phases": ["Setup"]}
    assert first.provider == "scripted"
    assert first.usage.input_tokens > 0


async def test_streamed_answer_comes_in_pieces_that_join_into_the_text(tmp_path: Path) -> None:
    long_answer = "An atom is one top-level symbol of about ten lines, with its own tests."
    path = write_answers(tmp_path / "a.json", [{"purpose": "chat", "answer": long_answer}])
    pieces: list[str] = []

    answer = await ScriptedProvider.from_file(path).complete_streamed(
        ask("What is an atom?", "chat"), pieces.append
    )

    assert answer.text == long_answer
    assert len(pieces) > 2
    assert "".join(pieces) == long_answer
    assert all(piece.strip() for piece in pieces)


def test_text_pieces_keep_every_character() -> None:
    for text in ["", "a", "   ", "x" * 100, "word " * 30, "line\n\n  code()\n" * 5, "é ü 🙂 " * 9]:
        pieces = text_pieces(text)
        assert "".join(pieces) == text
        assert all(pieces)


async def test_missing_answer_names_purpose_message_and_file(tmp_path: Path) -> None:
    path = write_answers(tmp_path / "a.json", ANSWERS)
    scripted = ScriptedProvider.from_file(path)

    with pytest.raises(ScriptedAnswerMissing) as caught:
        await scripted.complete(ask("Cut task T3 into atoms please", "atoms:T3"))

    message = str(caught.value)
    assert "'atoms:T3'" in message
    assert "Cut task T3 into atoms" in message
    assert str(path) in message
    assert isinstance(caught.value, LLMError)


async def test_exhausted_purpose_says_all_answers_were_played(tmp_path: Path) -> None:
    scripted = ScriptedProvider.from_file(write_answers(tmp_path / "a.json", ANSWERS))
    await scripted.complete(ask("one", "masterplan"))

    with pytest.raises(ScriptedAnswerMissing, match="all 1 answers were already played"):
        await scripted.complete(ask("two", "masterplan"))


async def test_contains_must_match_the_last_user_message(tmp_path: Path) -> None:
    scripted = ScriptedProvider.from_file(write_answers(tmp_path / "a.json", ANSWERS))

    with pytest.raises(ScriptedAnswerMissing, match="'contains' matches"):
        await scripted.complete(ask("write class Foo", "atom:app.py::main"))
    answer = await scripted.complete(ask("write def main()", "atom:app.py::main"))

    assert answer.text == "def main(): ..."


async def test_a_new_process_does_not_replay_consumed_answers(tmp_path: Path) -> None:
    path = write_answers(tmp_path / "a.json", ANSWERS)
    state = tmp_path / "data"
    before_kill = ScriptedProvider.from_file(path, state_dir=state)
    assert (await before_kill.complete(ask("spec one", "discovery"))).text == "first discovery"

    resumed = ScriptedProvider.from_file(path, state_dir=state)

    # The same question gets the same answer; a new one gets the next unused entry.
    assert (await resumed.complete(ask("spec one", "discovery"))).text == "first discovery"
    assert (await resumed.complete(ask("spec two", "discovery"))).text == "second discovery"


async def test_editing_the_answers_file_starts_afresh(tmp_path: Path) -> None:
    path = write_answers(tmp_path / "a.json", ANSWERS)
    state = tmp_path / "data"
    await ScriptedProvider.from_file(path, state_dir=state).complete(ask("x", "masterplan"))

    write_answers(path, [*ANSWERS, {"purpose": "extra", "answer": "e"}])
    again = await ScriptedProvider.from_file(path, state_dir=state).complete(ask("y", "masterplan"))

    assert json.loads(again.text) == {"phases": ["Setup"]}


def test_invalid_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"answers": [{"answer": "no purpose"}]}', encoding="utf-8")

    with pytest.raises(ConfigError, match="not valid"):
        ScriptedProvider.from_file(bad)


def test_from_settings_keeps_bindings_in_the_data_folder(tmp_path: Path) -> None:
    path = write_answers(tmp_path / "a.json", ANSWERS)
    settings = load_settings(scripted_answers=path)

    scripted = ScriptedProvider.from_settings(settings)

    assert scripted.state_path is not None
    assert scripted.state_path.is_relative_to(settings.data_dir)
