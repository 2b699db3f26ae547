"""The workspace writer: atomic writes, and every way out of the root (or into .git) refused."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devmatrix.errors import DevMatrixError, NotFoundError
from devmatrix.workspace import UnsafePathError, WorkspaceError, WorkspaceWriter


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("keep me")
    return folder


def test_write_read_delete_round_trip(root: Path) -> None:
    writer = WorkspaceWriter(root)
    path = writer.write_text("pkg/sub/mod.py", "x = 1\n")
    assert path == root.resolve() / "pkg" / "sub" / "mod.py"
    assert path.read_text() == "x = 1\n"
    assert writer.read_text("pkg/sub/mod.py") == "x = 1\n"
    writer.write_text("pkg/sub/mod.py", "x = 2\n")
    assert writer.read_text("./pkg/sub/mod.py") == "x = 2\n"
    assert writer.exists("pkg/sub/mod.py")
    assert writer.delete("pkg/sub/mod.py") is True
    assert not path.exists()
    assert writer.delete("pkg/sub/mod.py") is False
    assert [p.name for p in (root / "pkg" / "sub").iterdir()] == []  # no temp file left behind


def test_reading_a_missing_file_says_so(root: Path) -> None:
    writer = WorkspaceWriter(root)
    with pytest.raises(NotFoundError, match=r"nope\.py"):
        writer.read_text("nope.py")
    with pytest.raises(NotFoundError):
        writer.read_text("missing/folder/nope.py")


def test_existing_file_mode_is_kept(root: Path) -> None:
    writer = WorkspaceWriter(root)
    script = writer.write_text("run.sh", "#!/bin/sh\n")
    script.chmod(0o755)
    writer.write_text("run.sh", "#!/bin/sh\necho hi\n")
    assert script.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize(
    "bad",
    [
        "../escape.txt",
        "pkg/../../escape.txt",
        "pkg/..",
        "/etc/passwd",
        "C:/windows/x.txt",
        "pkg\\..\\x.txt",
        "",
        ".",
        "a\x00b",
    ],
)
def test_paths_leaving_the_root_are_refused(root: Path, bad: str) -> None:
    writer = WorkspaceWriter(root)
    with pytest.raises(UnsafePathError) as caught:
        writer.write_text(bad, "nope")
    assert isinstance(caught.value, DevMatrixError)
    assert "Refused path" in caught.value.message
    assert caught.value.hint
    assert not (root.parent / "escape.txt").exists()


@pytest.mark.parametrize("bad", [".git/config", "sub/.git/HEAD", ".GIT/hooks/pre-commit", ".git"])
def test_git_is_never_touched(root: Path, bad: str) -> None:
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n")
    writer = WorkspaceWriter(root)
    for action in (
        lambda: writer.write_text(bad, "x"),
        lambda: writer.read_text(bad),
        lambda: writer.delete(bad),
    ):
        with pytest.raises(UnsafePathError, match=r"\.git"):
            action()
    assert (root / ".git" / "config").read_text() == "[core]\n"


def test_symlink_into_git_is_refused(root: Path) -> None:
    (root / ".git").mkdir(parents=True)
    (root / "innocent").symlink_to(root / ".git")
    writer = WorkspaceWriter(root)
    with pytest.raises(UnsafePathError, match=r"\.git"):
        writer.write_text("innocent/config", "x")
    assert not (root / ".git" / "config").exists()


def test_symlinked_file_pointing_out_is_refused(root: Path, outside: Path) -> None:
    root.mkdir()
    (root / "link.txt").symlink_to(outside / "secret.txt")
    writer = WorkspaceWriter(root)
    with pytest.raises(UnsafePathError, match="outside"):
        writer.write_text("link.txt", "overwritten")
    with pytest.raises(UnsafePathError):
        writer.read_text("link.txt")
    with pytest.raises(UnsafePathError):
        writer.delete("link.txt")
    assert (outside / "secret.txt").read_text() == "keep me"
    assert (root / "link.txt").is_symlink()


def test_symlinked_parent_folder_pointing_out_is_refused(root: Path, outside: Path) -> None:
    root.mkdir()
    (root / "pkg").symlink_to(outside, target_is_directory=True)
    writer = WorkspaceWriter(root)
    with pytest.raises(UnsafePathError, match="outside"):
        writer.write_text("pkg/secret.txt", "overwritten")
    with pytest.raises(UnsafePathError):
        writer.write_text("pkg/new/deeper.txt", "x")
    assert (outside / "secret.txt").read_text() == "keep me"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_symlink_staying_inside_the_root_is_followed(root: Path) -> None:
    writer = WorkspaceWriter(root)
    writer.write_text("real/a.txt", "one")
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    path = writer.write_text("alias/a.txt", "two")
    assert path == root.resolve() / "real" / "a.txt"
    assert (root / "real" / "a.txt").read_text() == "two"


def test_writing_over_a_folder_is_an_error_not_a_crash(root: Path) -> None:
    writer = WorkspaceWriter(root)
    (root / "pkg").mkdir()
    with pytest.raises(WorkspaceError, match="Could not write"):
        writer.write_text("pkg", "x")
    with pytest.raises(WorkspaceError, match="folder"):
        writer.delete("pkg")
    assert (root / "pkg").is_dir()


def test_failed_write_leaves_the_old_file_whole_and_no_temp_file(root: Path) -> None:
    writer = WorkspaceWriter(root)
    writer.write_text("data/big.txt", "old content\n")
    # A real write failure half-way: a child process whose file size limit is 64 KiB writes 1 MiB.
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pathlib import Path
        from devmatrix.workspace import WorkspaceError, WorkspaceWriter
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        try:
            WorkspaceWriter(Path({str(root)!r})).write_text("data/big.txt", "y" * (1 << 20))
        except WorkspaceError as exc:
            print("refused:", exc)
            sys.exit(3)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 3, done.stderr
    assert "File too large" in done.stdout
    assert (root / "data" / "big.txt").read_text() == "old content\n"
    assert os.listdir(root / "data") == ["big.txt"]


def test_root_is_created_and_resolved(tmp_path: Path) -> None:
    real = tmp_path / "real-root"
    real.mkdir()
    (tmp_path / "root-link").symlink_to(real, target_is_directory=True)
    writer = WorkspaceWriter(tmp_path / "root-link")
    assert writer.root == real.resolve()
    writer.write_text("a.txt", "x")
    assert (real / "a.txt").read_text() == "x"
    fresh = WorkspaceWriter(tmp_path / "new" / "root")
    assert fresh.root.is_dir()
