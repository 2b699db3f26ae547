"""Fixtures of the planning tests: a migrated SQLite database and LLM clients playing scripted
answers through the real `LLMClient`, with every request the provider received kept for asserts."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine

from devmatrix.llm.client import LLMClient
from devmatrix.llm.scripted_provider import ScriptedAnswer, ScriptedProvider
from devmatrix.llm.types import LLMRequest, LLMResponse
from devmatrix.storage import migrate
from devmatrix.storage.db import create_db_engine

FIXTURES = Path(__file__).parents[2] / "fixtures" / "planning"


class RecordingProvider:
    """The scripted provider, with a record of every request it was sent (a fake, not a mock)."""

    name: ClassVar[str] = "scripted"

    def __init__(self, inner: ScriptedProvider) -> None:
        self.inner = inner
        self.requests: list[LLMRequest] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        return await self.inner.complete(request)

    def purposes(self) -> list[str]:
        return [r.purpose for r in self.requests]


ClientFactory = Callable[[list[dict[str, Any]]], tuple[LLMClient, RecordingProvider]]


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy (migrating takes ~0.5 s)."""
    path = tmp_path_factory.mktemp("planning-template") / "template.db"
    db = create_db_engine(f"sqlite:///{path}")
    migrate.upgrade(db)
    with db.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture
def engine(tmp_path: Path, migrated_template: Path) -> Iterator[Engine]:
    """A fresh SQLite database at the newest schema."""
    path = tmp_path / "planning.db"
    shutil.copyfile(migrated_template, path)
    db = create_db_engine(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def todo_answers() -> list[dict[str, Any]]:
    """The happy-path answers for the todo spec (a deep copy each test may change)."""
    data = json.loads((FIXTURES / "todo_answers.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data["answers"])


@pytest.fixture
def todo_spec() -> str:
    return (FIXTURES / "todo_spec.md").read_text(encoding="utf-8")


@pytest.fixture
def client_for(engine: Engine) -> ClientFactory:
    """Build an `LLMClient` over a recording scripted provider playing `answers`."""

    def build(answers: list[dict[str, Any]]) -> tuple[LLMClient, RecordingProvider]:
        scripted = ScriptedProvider([ScriptedAnswer.model_validate(a) for a in answers])
        recorder = RecordingProvider(scripted)
        return LLMClient(recorder, engine=engine), recorder

    return build
