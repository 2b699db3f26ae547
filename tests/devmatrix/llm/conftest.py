"""Fixtures of the LLM layer tests: a loopback server speaking the providers' wire formats."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The suite imports test modules in importlib mode; this lets them import the sibling helper.
sys.path.insert(0, str(Path(__file__).parent))

from llm_loopback import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A running loopback server; replies are queued with `server.push(...)`."""
    running = LoopbackServer().start()
    yield running
    running.stop()
