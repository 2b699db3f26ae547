"""The box: a private temporary copy of a project, owned by the identity the sandbox runs as."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devmatrix.errors import DevMatrixError

# Each run gets its own uid/gid from this range when we run as root: RLIMIT_NPROC counts processes
# per uid, so a fork bomb in one box cannot starve another box, and boxes cannot signal each other.
# No account needs to exist for these ids; they only own the box's files while it runs.
SANDBOX_ID_BASE = 0x70000000
SANDBOX_ID_SPAN = 1 << 20

# Copied folders the program under test has no business seeing or that are just caches.
_NOT_COPIED = (".git", ".hg", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|^DEVMATRIX_|^AWS_|^ANTHROPIC|^OPENAI")


class SandboxError(DevMatrixError):
    """The sandbox itself could not be set up (not a failure of the program run inside it)."""


@dataclass(frozen=True)
class Box:
    """Where one run lives: `root` holds `project/` (the copy), `home/` and `tmp/`."""

    root: Path
    uid: int | None
    gid: int | None

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"


def make_box(project_dir: Path, *, drop_privileges: bool) -> Box:
    """Copy `project_dir` into a fresh temporary box; hand it to a fresh uid when we are root."""
    if not project_dir.is_dir():
        raise SandboxError(
            f"Cannot sandbox {project_dir}: it is not a folder.",
            "Pass the folder of the generated project.",
        )
    root = Path(tempfile.mkdtemp(prefix="devmatrix-sbx-"))
    try:
        shutil.copytree(
            project_dir,
            root / "project",
            symlinks=True,
            ignore=shutil.ignore_patterns(*_NOT_COPIED),
        )
        (root / "home").mkdir()
        (root / "tmp").mkdir()
        uid = gid = None
        if drop_privileges:
            uid = gid = SANDBOX_ID_BASE + secrets.randbelow(SANDBOX_ID_SPAN)
            _chown_tree(root, uid, gid)
    except OSError as exc:
        remove_box(Box(root, None, None))
        raise SandboxError(f"Could not copy {project_dir} into the sandbox: {exc}") from exc
    return Box(root, uid, gid)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.lchown(root, uid, gid)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, gid)


def remove_box(box: Box) -> None:
    """Delete the box; folders the program made unreadable are opened up first."""

    def reopen(_func: object, path: str, _exc_info: object) -> None:
        os.chmod(os.path.dirname(path), stat.S_IRWXU)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, stat.S_IRWXU)
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)

    # onerror (not 3.12's onexc) because the engine targets Python 3.11.
    shutil.rmtree(box.root, onerror=reopen)


def interpreter_exposures() -> list[tuple[str, str]]:
    """(closed folder, interpreter folder below it) pairs the jail must open up for other uids.

    pyenv and similar put the interpreter under /root (mode 0700), where an unprivileged uid
    cannot reach it; the jail covers such a folder and shows only the interpreter's prefix.
    """
    pairs: list[tuple[str, str]] = []
    for prefix in {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}:
        closed = _first_closed_ancestor(Path(prefix))
        if closed is not None and (str(closed), prefix) not in pairs:
            pairs.append((str(closed), prefix))
    return pairs


def _first_closed_ancestor(path: Path) -> Path | None:
    for folder in reversed(path.parents):
        if folder != Path("/") and not os.stat(folder).st_mode & stat.S_IXOTH:
            return folder
    return None


def sandbox_env(
    box: Box, *, isolated: bool, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of the program: essentials only, HOME and TMPDIR inside the box."""
    bin_dir = os.path.dirname(sys.executable)
    env = {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(box.home),
        # Inside the namespaces the box's tmp/ is mounted on /tmp.
        "TMPDIR": "/tmp" if isolated else str(box.tmp),  # noqa: S108
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONNOUSERSITE": "1",
    }
    for name, value in (extra or {}).items():
        if _SECRET_NAME.search(name.upper()):
            raise SandboxError(
                f"Refusing to pass {name} into the sandbox: it looks like a secret or a DevMatrix setting.",
                "Generated code never gets credentials; give it a harmless name and value.",
            )
        env[name] = value
    return env
