"""A provider that plays prepared answers from a JSON file, for tests and the offline demo.

File format: `{"answers": [{"purpose": "...", "contains": "optional", "answer": "text or JSON"}]}`.
An answer matches a request by purpose (and, when given, a substring of the last user message);
entries with the same purpose are played in file order.

Resuming in a new process: each answer is bound to the request that first consumed it, and the
bindings are kept in a small JSON file under the data folder (one per answers-file content). A
resumed run that asks the same question again gets the same answer back; a new question gets
the next unused entry, never one already played.

Streamed (`complete_streamed`, used by the chat), an answer is handed out in pieces of a few
words at a steady pace, as a model writing it would; the pieces join into the same text.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from devmatrix.config import Settings
from devmatrix.errors import ConfigError, ProviderUnavailable
from devmatrix.llm.errors import ScriptedAnswerMissing
from devmatrix.llm.provider import TextSink
from devmatrix.llm.types import LLMRequest, LLMResponse, Usage

MODEL = "scripted"
PIECE_CHARS = 16  # a streamed piece ends at the first whitespace after this many characters
PIECE_PAUSE_SECONDS = 0.04
WHITESPACE = re.compile(r"\s+")


class ScriptedAnswer(BaseModel):
    """One prepared answer; a non-string `answer` is played as its JSON text."""

    purpose: str
    contains: str | None = None
    answer: Any

    def text(self) -> str:
        return self.answer if isinstance(self.answer, str) else json.dumps(self.answer)


class ScriptedAnswers(BaseModel):
    """The answers file."""

    answers: list[ScriptedAnswer]


class ScriptedProvider:
    """Plays `answers` in order per purpose; `state_path` (optional) keeps bindings across processes."""

    name: ClassVar[str] = "scripted"
    supports_streaming: ClassVar[bool] = True
    supports_json_schema: ClassVar[bool] = True
    supports_prompt_cache: ClassVar[bool] = False
    default_model: str = MODEL

    def __init__(
        self,
        answers: list[ScriptedAnswer],
        *,
        source: str = "the scripted answers",
        state_path: Path | None = None,
    ) -> None:
        self.answers = answers
        self.source = source
        self.state_path = state_path
        self._bindings: dict[str, int] = self._load_bindings()
        self._lock = asyncio.Lock()

    @classmethod
    def from_file(cls, path: Path, *, state_dir: Path | None = None) -> ScriptedProvider:
        """Read an answers file; with `state_dir`, bindings persist there across processes."""
        try:
            raw = path.read_bytes()
            answers = ScriptedAnswers.model_validate_json(raw).answers
        except FileNotFoundError:
            raise ProviderUnavailable(
                f"The scripted answers file {path} does not exist.",
                "Fix DEVMATRIX_SCRIPTED_ANSWERS or create the file.",
            ) from None
        except ValidationError as exc:
            raise ConfigError(
                f"The scripted answers file {path} is not valid: {exc.errors()[0]['msg']}.",
                'Expected {"answers": [{"purpose": "...", "answer": "..."}]}.',
            ) from None
        state_path = None
        if state_dir is not None:
            digest = hashlib.sha256(str(path.resolve()).encode() + b"\0" + raw).hexdigest()[:16]
            state_path = state_dir / "scripted" / f"{digest}.json"
        return cls(answers, source=str(path), state_path=state_path)

    @classmethod
    def from_settings(cls, settings: Settings) -> ScriptedProvider:
        """Build from DEVMATRIX_SCRIPTED_ANSWERS, keeping bindings in the data folder."""
        if settings.scripted_answers is None:
            raise ProviderUnavailable(
                "The scripted provider needs a file of prepared answers.",
                "Set DEVMATRIX_SCRIPTED_ANSWERS to its path.",
            )
        return cls.from_file(settings.scripted_answers, state_dir=settings.data_dir)

    async def complete_streamed(self, request: LLMRequest, on_text: TextSink) -> LLMResponse:
        """Like `complete`, handing the text to `on_text` in pieces, one every 40 ms."""
        answer = await self.complete(request)
        for number, piece in enumerate(text_pieces(answer.text)):
            if number:
                await asyncio.sleep(PIECE_PAUSE_SECONDS)
            on_text(piece)
        return answer

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Answer with the entry bound to this request, or bind the next unused matching one."""
        key = _request_key(request)
        async with self._lock:
            index = self._bindings.get(key)
            if index is None:
                index = self._next_unused(request)
                self._bindings[key] = index
                self._save_bindings()
        text = self.answers[index].text()
        prompt_chars = len(request.system or "") + sum(len(m.content) for m in request.messages)
        return LLMResponse(
            text=text,
            # Rough token counts (4 characters each) so usage and budgets see plausible sizes.
            usage=Usage(input_tokens=prompt_chars // 4 + 1, output_tokens=len(text) // 4 + 1),
            model=MODEL,
            provider=self.name,
            stop_reason="end_turn",
        )

    def _next_unused(self, request: LLMRequest) -> int:
        used = set(self._bindings.values())
        last_user = request.last_user_message()
        same_purpose = [i for i, a in enumerate(self.answers) if a.purpose == request.purpose]
        for i in same_purpose:
            contains = self.answers[i].contains
            if i not in used and (contains is None or contains in last_user):
                return i
        raise self._missing(request, same_purpose, used)

    def _missing(
        self, request: LLMRequest, same_purpose: list[int], used: set[int]
    ) -> ScriptedAnswerMissing:
        start = request.last_user_message()[:80].replace("\n", " ")
        if not same_purpose:
            why = "there is no answer"
        elif all(i in used for i in same_purpose):
            why = f"all {len(same_purpose)} answers were already played"
        else:
            why = "no unused answer's 'contains' matches the message"
        return ScriptedAnswerMissing(
            f"No scripted answer for purpose {request.purpose!r}: {why} "
            f"(last user message starts {start!r}).",
            f'Add {{"purpose": {json.dumps(request.purpose)}, "answer": "..."}} to the '
            f'"answers" list in {self.source}.',
        )

    def _load_bindings(self) -> dict[str, int]:
        if self.state_path is None or not self.state_path.exists():
            return {}
        stored = json.loads(self.state_path.read_text(encoding="utf-8"))
        return {str(k): int(v) for k, v in stored.get("bindings", {}).items()}

    def _save_bindings(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_path.with_suffix(".tmp")
        partial.write_text(json.dumps({"bindings": self._bindings}), encoding="utf-8")
        os.replace(partial, self.state_path)  # atomic: a killed run never leaves half a file


def _request_key(request: LLMRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def text_pieces(text: str) -> list[str]:
    """`text` cut after the whitespace that follows every PIECE_CHARS characters; joined, the
    pieces are `text` again."""
    pieces, start = [], 0
    while start < len(text):
        found = WHITESPACE.search(text, start + PIECE_CHARS)
        end = found.end() if found else len(text)
        pieces.append(text[start:end])
        start = end
    return pieces
