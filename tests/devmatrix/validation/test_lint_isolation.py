"""A generated project is linted by its own rules, never by a parent folder's configuration."""

from __future__ import annotations

from pathlib import Path

from devmatrix.validation.lint import lint_project


def _project(parent: Path) -> Path:
    (parent / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["RUF", "E", "F"]\n')
    project = parent / "out"
    project.mkdir()
    (project / "m.py").write_text("y = [2]\nx = [1] + y\n")  # RUF005 under the parent's rules
    return project


def test_a_parent_folders_configuration_is_ignored(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert lint_project(project) == []  # ruff's defaults: nothing wrong here


def test_the_projects_own_configuration_is_used(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "ruff.toml").write_text('[lint]\nselect = ["E", "F", "PLR2004"]\n')
    (project / "n.py").write_text("def f(x):\n    return x > 42\n")
    rules = {d.rule for d in lint_project(project)}
    assert rules == {"PLR2004"}
