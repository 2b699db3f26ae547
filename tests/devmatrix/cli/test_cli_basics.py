"""The CLI as a user meets it: a real subprocess, help, doctor, db upgrade, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _devmatrix(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devmatrix", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_help_lists_the_commands() -> None:
    result = _devmatrix("--help")
    assert result.returncode == 0
    assert "doctor" in result.stdout
    assert "db" in result.stdout


def test_db_upgrade_creates_the_database(isolated_data_dir: Path) -> None:
    result = _devmatrix("db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert (isolated_data_dir / "devmatrix.db").exists()
    check = _devmatrix("db", "check")
    assert check.returncode == 0, check.stdout
    assert "no drift" in check.stdout


def test_doctor_reports_the_database() -> None:
    result = _devmatrix("doctor")
    assert "database" in result.stdout
    assert "sqlite" in result.stdout


def test_bad_setting_is_one_line_and_exit_1() -> None:
    result = _devmatrix("db", "upgrade", env={"DEVMATRIX_ENV": "production"})
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DEVMATRIX_JWT_SECRET" in lines[0]


def test_debug_shows_the_traceback() -> None:
    result = _devmatrix("--debug", "db", "upgrade", env={"DEVMATRIX_ENV": "production"})
    assert result.returncode != 0
    assert "Traceback" in result.stderr
