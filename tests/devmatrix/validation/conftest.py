"""Builds the small projects of tests/fixtures/validation in a temporary folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "validation"


def build_project(variant: str, target: Path) -> Path:
    """Copy `base/`, then `variant/` on top, renaming `*.py.txt` to `*.py`."""
    target.mkdir(parents=True, exist_ok=True)
    for layer in ("base", variant):
        source = FIXTURES / layer
        for path in sorted(source.rglob("*")):
            if path.is_dir():
                continue
            rel = path.relative_to(source).as_posix().removesuffix(".txt")
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
    return target


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[str], Path]:
    """`make_project("failing_test")` gives the path of a fresh copy of that fixture project."""
    return lambda variant: build_project(variant, tmp_path / variant)
