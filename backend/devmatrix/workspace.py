"""The one writer through which files reach the user's output folder.

Every path is checked before use: relative, no `..`, no `.git` component anywhere, and after
resolving symlinks still inside the root. The file operations then walk the resolved path one
folder at a time with O_NOFOLLOW relative to an open folder descriptor, so a symlink swapped in
after the check is refused instead of followed. Writes are atomic: a temporary file in the same
folder, fsync, os.replace, fsync of the folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from devmatrix.errors import DevMatrixError, NotFoundError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class WorkspaceError(DevMatrixError):
    """A file of the workspace could not be read or written."""


class UnsafePathError(WorkspaceError):
    """A path would leave the workspace root or touch `.git`; nothing was read or written."""


class WorkspaceWriter:
    """Reads and atomically writes files below `root`; refuses any path that leaves it."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve(strict=True)

    def resolve(self, rel_path: str | PurePosixPath) -> Path:
        """The absolute path of `rel_path` below the root, or UnsafePathError if it may not be used."""
        parts = _checked_parts(str(rel_path))
        candidate = self.root.joinpath(*parts)
        resolved = Path(os.path.realpath(candidate))
        if resolved != self.root and self.root not in resolved.parents:
            raise UnsafePathError(
                f"Refused path {rel_path!r}: a symlink on the way leads to {resolved}, outside "
                f"the workspace {self.root}.",
                "Write to a path whose folders are real folders inside the workspace.",
            )
        inside = resolved.relative_to(self.root).parts
        if not inside or any(part.casefold() == ".git" for part in inside):
            raise UnsafePathError(
                f"Refused path {rel_path!r}: it resolves to {resolved}, which is the workspace "
                "root or inside .git.",
                "Name a file inside the workspace, outside .git.",
            )
        return resolved

    def write_text(self, rel_path: str | PurePosixPath, text: str) -> Path:
        """Replace (or create) the file atomically with `text` in UTF-8; returns its path."""
        return self.write_bytes(rel_path, text.encode("utf-8"))

    def write_bytes(self, rel_path: str | PurePosixPath, data: bytes) -> Path:
        """Replace (or create) the file atomically with `data`; readers see old or new, never half."""
        target = self.resolve(rel_path)
        folders, name = target.relative_to(self.root).parts[:-1], target.name
        with self._folder(folders, create=True) as dir_fd:
            _replace_atomically(dir_fd, name, data, target)
        return target

    def read_text(self, rel_path: str | PurePosixPath) -> str:
        """The file's content as UTF-8 text; NotFoundError when it does not exist."""
        target = self.resolve(rel_path)
        folders = target.relative_to(self.root).parts[:-1]
        with self._folder(folders, create=False) as dir_fd:
            try:
                fd = os.open(target.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            except FileNotFoundError:
                raise NotFoundError(f"No file {rel_path} in the workspace {self.root}.") from None
            except OSError as exc:
                raise _io_error("read", target, exc) from exc
            with os.fdopen(fd, "rb") as handle:
                return handle.read().decode("utf-8")

    def delete(self, rel_path: str | PurePosixPath) -> bool:
        """Remove the file; returns False when it was not there. Folders are never removed."""
        target = self.resolve(rel_path)
        folders = target.relative_to(self.root).parts[:-1]
        try:
            with self._folder(folders, create=False) as dir_fd:
                info = os.stat(target.name, dir_fd=dir_fd, follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    raise WorkspaceError(
                        f"Refused to delete {rel_path}: it is a folder.",
                        "Delete the files inside it one by one.",
                    )
                os.unlink(target.name, dir_fd=dir_fd)
                os.fsync(dir_fd)
        except (FileNotFoundError, NotFoundError):
            return False
        except OSError as exc:
            raise _io_error("delete", target, exc) from exc
        return True

    def exists(self, rel_path: str | PurePosixPath) -> bool:
        """True when a file (or folder) is at `rel_path`; unsafe paths still raise."""
        return self.resolve(rel_path).exists()

    @contextlib.contextmanager
    def _folder(self, folders: tuple[str, ...], *, create: bool) -> Iterator[int]:
        """An open descriptor of root/folders, walked without following any symlink."""
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for name in folders:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, dir_fd=fd)
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    raise NotFoundError(f"No folder {name} on the way in {self.root}.") from None
                except OSError as exc:
                    # ELOOP/ENOTDIR: a symlink or file appeared where the check saw a folder.
                    raise UnsafePathError(
                        f"Refused: {name} in {self.root} changed into a symlink or file while "
                        f"being used ({exc.strerror}).",
                        "Retry once the workspace is no longer being changed.",
                    ) from exc
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)


def _checked_parts(raw: str) -> list[str]:
    """Split a workspace-relative path, refusing anything that could point outside or at .git."""
    problem = None
    if not raw or raw.strip() in ("", "."):
        problem = "it is empty"
    elif "\x00" in raw:
        problem = "it contains a NUL byte"
    elif "\\" in raw:
        problem = "it contains a backslash (use / between folders)"
    elif raw.startswith("/") or PurePosixPath(raw).is_absolute() or raw[1:3] == ":/":
        problem = "it is absolute"
    parts = [part for part in PurePosixPath(raw).parts if part != "."]
    if problem is None and ".." in parts:
        problem = "it contains '..'"
    if problem is None and any(part.casefold() == ".git" for part in parts):
        problem = "it is inside .git, which DevMatrix never touches"
    if problem is not None:
        raise UnsafePathError(
            f"Refused path {raw!r}: {problem}.",
            "Give a path relative to the workspace root, like 'pkg/module.py'.",
        )
    return parts


def _replace_atomically(dir_fd: int, name: str, data: bytes, target: Path) -> None:
    temp = f".{name}.{secrets.token_hex(6)}.devmatrix-tmp"
    try:
        mode = stat.S_IMODE(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        mode = None  # new file: default permissions under the umask
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(temp, flags, 0o666, dir_fd=dir_fd)
        try:
            if mode is not None:
                os.fchmod(fd, mode)  # keep an existing script executable
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)  # the rename itself survives a crash
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=dir_fd)
        raise _io_error("write", target, exc) from exc


def _io_error(action: str, target: Path, exc: OSError) -> WorkspaceError:
    return WorkspaceError(
        f"Could not {action} {target}: {exc.strerror or exc}.",
        "Check the folder's permissions and free disk space; nothing was half-written.",
    )
