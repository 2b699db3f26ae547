"""The child side of the sandbox: enter namespaces, lock the filesystem, drop privileges, exec.

Run as a stand-alone script (`python -I -S jail.py CONFIG_JSON`), stdlib only, so no code of the
project under test and no site-packages run before the limits are in place. Written by hand:
bubblewrap does the same job but is not installed by default, and as root the kernel calls
(unshare, mount, setuid) are all we need. It reports to the parent over a status pipe as JSON
lines: `{"event": "setup_error", "message": ...}` or `{"event": "exited", "status": <wait status>}`.

When `isolate` is set (the parent only sets it when running as root) the layout is:
outer process -- unshare(mount, net, pid, ipc, uts) --> fork --> pid 1 of the new pid namespace
(supervisor, mounts a fresh /proc) --> fork --> target (rlimits, unprivileged uid, no_new_privs,
execve). When pid 1 exits every process left in the namespace is killed by the kernel, so no
grandchild outlives the run, whatever it does with sessions or process groups.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24

PR_SET_NO_NEW_PRIVS = 38
SETUP_FAILED = 125

_KEPT_MOUNT_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    """A protection could not be put in place; the run must not start without it."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)} (errno {err})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int) -> None:
    src = source.encode() if source is not None else None
    kind = fstype.encode() if fstype is not None else None
    _check(_libc.mount(src, target.encode(), kind, ctypes.c_ulong(flags), None), f"mount {target}")


def _report(fd: int, **event: Any) -> None:
    os.write(fd, (json.dumps(event) + "\n").encode())


def _mount_points() -> list[tuple[str, str, int]]:
    """(mount point, filesystem type, per-mount flags to keep) from /proc/self/mountinfo."""
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            fields = line.split()
            sep = fields.index("-")
            point = fields[4].encode().decode("unicode_escape")
            flags = 0
            for opt in fields[5].split(","):
                flags |= _KEPT_MOUNT_FLAGS.get(opt, 0)
            points.append((point, fields[sep + 1], flags))
    return points


def _lock_filesystem(box: str, box_tmp: str, exposed: list[list[str]]) -> None:
    """Make every mount read-only, then give back the box (read-write) and its tmp as /tmp."""
    # MS_PRIVATE first: later remounts must never propagate to the host's mount table.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    box_fd = os.open(box, os.O_PATH | os.O_DIRECTORY)
    tmp_fd = os.open(box_tmp, os.O_PATH | os.O_DIRECTORY)
    for point, fstype, flags in _mount_points():
        if fstype in ("proc", "sysfs", "cgroup", "cgroup2", "devpts") or not os.path.isdir(point):
            continue
        # MS_BIND makes this a per-mount change in our namespace; without it the remount
        # would hit the shared superblock and turn the host's filesystem read-only.
        _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
    for hidden in dict.fromkeys(hidden for hidden, _ in exposed):
        _expose_through(hidden, [path for closed, path in exposed if closed == hidden])
    # An interpreter installed under /tmp (a checkout cloned there) would vanish under the box's
    # tmp: keep a read-only view of it at its old path.
    # The jail runs with -S, so sys.prefix is the base interpreter's: take the venv from the path.
    venv = os.path.dirname(os.path.dirname(os.path.abspath(sys.executable)))
    prefixes = {os.path.realpath(sys.base_prefix), venv}
    kept = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY)) for p in sorted(prefixes) if _under_tmp(p)]
    _bind_rw(f"/proc/self/fd/{tmp_fd}", "/tmp")  # noqa: S108 - the box's own tmp, seen as /tmp
    for path, fd in kept:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    box_stat = os.fstat(box_fd)
    if not os.path.isdir(box) or os.stat(box).st_ino != box_stat.st_ino:
        os.makedirs(box, exist_ok=True)  # the box lived under /tmp: show it at its old path
    _bind_rw(f"/proc/self/fd/{box_fd}", box)
    os.close(box_fd)
    os.close(tmp_fd)


def _under_tmp(path: str) -> bool:
    return path == "/tmp" or path.startswith("/tmp/")  # noqa: S108 - comparing, not creating


def _expose_through(hidden: str, paths: list[str]) -> None:
    """Cover the closed folder `hidden` (say /root) with an empty one that shows only `paths`."""
    # The sandbox uid cannot traverse `hidden`, yet the interpreter lives below it. An empty
    # read-only tmpfs over it keeps the rest of that folder out of sight of the program.
    fds = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path in paths]
    options = b"size=64k,mode=0755"
    flags = ctypes.c_ulong(MS_NOSUID | MS_NODEV)
    _check(_libc.mount(b"tmpfs", hidden.encode(), b"tmpfs", flags, options), f"mount {hidden}")
    for path, fd in zip(paths, fds, strict=True):
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    _mount(None, hidden, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _bind_rw(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)


def _start_target(cfg: dict[str, Any], status_fd: int) -> int:
    """Fork the target program with its limits and identity; returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    try:
        for name, (soft, hard) in cfg["rlimits"].items():
            resource.setrlimit(getattr(resource, name), (soft, hard))
        if cfg["uid"] is not None:
            os.setgroups([])
            os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
            os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
        # No setuid binary (su, sudo, mount) can hand privileges back to the program.
        if sys.platform.startswith("linux"):
            _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
        os.umask(0o022)
        os.chdir(cfg["cwd"])
        os.execvpe(cfg["argv"][0], cfg["argv"], cfg["env"])  # noqa: S606 - argv, never a shell
    except (OSError, SetupError) as exc:
        _report(status_fd, event="exec_error", message=f"{cfg['argv'][0]}: {exc}")
    os._exit(127)


def _supervise(cfg: dict[str, Any], status_fd: int) -> int:
    """Run the target, reap every orphan handed to us, and report the target's wait status."""
    target = _start_target(cfg, status_fd)
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == target:
            _report(status_fd, event="exited", status=status)
            return os.waitstatus_to_exitcode(status) & 0xFF


def _run_as_pid_one(cfg: dict[str, Any], status_fd: int) -> int:
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except SetupError as exc:
        _report(status_fd, event="setup_error", message=str(exc))
        return SETUP_FAILED
    return _supervise(cfg, status_fd)


def main(argv: list[str]) -> int:
    """Read the config, apply the isolation it asks for, run the target and relay its exit."""
    cfg: dict[str, Any] = json.loads(argv[1])
    status_fd: int = cfg["status_fd"]
    os.set_inheritable(status_fd, False)
    if not cfg["isolate"]:
        return _supervise(cfg, status_fd)
    try:
        flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
        _check(_libc.unshare(flags), "unshare(mount, net, pid, ipc, uts)")
        _lock_filesystem(cfg["box"], cfg["box_tmp"], cfg["exposed"])
    except (OSError, SetupError) as exc:
        _report(status_fd, event="setup_error", message=str(exc))
        return SETUP_FAILED
    pid_one = os.fork()
    if pid_one == 0:
        os._exit(_run_as_pid_one(cfg, status_fd))
    _, status = os.waitpid(pid_one, 0)
    return os.waitstatus_to_exitcode(status) & 0xFF


if __name__ == "__main__":
    sys.exit(main(sys.argv))
