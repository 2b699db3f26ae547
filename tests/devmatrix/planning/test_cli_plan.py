"""`devmatrix plan SPEC` as a user runs it: a real subprocess with scripted model answers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from devmatrix.cli import main
from devmatrix.planning.versions import get_plan_version
from devmatrix.storage.db import create_db_engine, session_scope
from devmatrix.storage.models import Atom, MasterPlan

FIXTURES = Path(__file__).parents[2] / "fixtures" / "planning"
SPEC = str(FIXTURES / "todo_spec.md")


def _devmatrix(*args: str, scripted: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if scripted:
        env["DEVMATRIX_LLM_PROVIDER"] = "scripted"
        env["DEVMATRIX_SCRIPTED_ANSWERS"] = str(FIXTURES / "todo_answers.json")
    return subprocess.run(
        [sys.executable, "-m", "devmatrix", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_plan_format_json_writes_only_json_to_stdout() -> None:
    result = _devmatrix("plan", SPEC, "--format", "json")
    assert result.returncode == 0, result.stderr
    export = json.loads(result.stdout)
    assert export["id"] == 1
    assert export["counts"] == {
        "phases": 3,
        "milestones": 3,
        "tasks": 4,
        "atoms": 7,
        "edges": 8,
        "waves": 3,
    }
    assert [r["code"] for r in export["discovery"]["requirements"]] == ["REQ-1", "REQ-2", "REQ-3"]
    assert {"from": "todo/models.py::Todo", "to": "todo/store.py::TodoStore.add"} in export[
        "graph"
    ]["edges"]
    assert "plan id: 1 (version 1, draft; run it with `devmatrix approve 1` then" in result.stderr


def _main(args: list[str], monkeypatch: pytest.MonkeyPatch, *, scripted: bool = True) -> int:
    """Run the CLI entry point in this process (the same code path, faster than a subprocess)."""
    if scripted:
        monkeypatch.setenv("DEVMATRIX_LLM_PROVIDER", "scripted")
        monkeypatch.setenv("DEVMATRIX_SCRIPTED_ANSWERS", str(FIXTURES / "todo_answers.json"))
    with pytest.raises(SystemExit) as caught:
        main(args)
    return int(caught.value.code or 0)


def test_plan_prints_the_tree_with_counts_and_the_plan_id(
    isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(["plan", SPEC], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "3 phases, 3 milestones, 4 tasks, 7 atoms, 8 edges, 3 waves" in out
    assert "todo/store.py::TodoStore.mark_done" in out
    assert "plan id: 1 (version 1, draft" in out
    assert "`devmatrix approve 1` then `devmatrix run --plan 1`" in out
    engine = create_db_engine(f"sqlite:///{isolated_data_dir / 'devmatrix.db'}")
    with session_scope(engine) as session:
        plan = session.exec(select(MasterPlan)).one()
        assert (plan.id, plan.status) == (1, "draft")
        assert len(session.exec(select(Atom)).all()) == 7
        assert len(get_plan_version(session, 1, 1).plan.tasks()) == 4


def test_plan_format_markdown_to_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plan.md"
    code = _main(["plan", SPEC, "--format", "markdown", "--output", str(target)], monkeypatch)
    out = capsys.readouterr().out
    assert code == 0
    markdown = target.read_text(encoding="utf-8")
    assert markdown.startswith("# Todo library\n")
    assert "- **T3** Mark a todo done (REQ-3; todo/store.py; after T2)" in markdown
    assert f"exported markdown to {target}" in out
    assert "plan id: 1" in out


def test_plan_without_a_provider_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(["plan", SPEC], monkeypatch, scripted=False) == 1
    err = capsys.readouterr().err
    assert "No model provider is configured" in err
    assert "ANTHROPIC_API_KEY" in err


def test_plan_on_an_empty_spec_fails_with_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("  \n", encoding="utf-8")
    assert _main(["plan", str(empty)], monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: The spec is empty.")
    assert "Traceback" not in err


def test_plan_reads_the_spec_from_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(Path(SPEC).read_text(encoding="utf-8")))
    assert _main(["plan", "-", "--format", "json"], monkeypatch) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["discovery"]["title"] == "Todo library"
    assert "plan id: 1" in captured.err
