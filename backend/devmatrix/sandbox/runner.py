"""Run a program on a private copy of a project, under limits, and say plainly how it ended."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devmatrix.sandbox import jail
from devmatrix.sandbox.box import (
    Box,
    SandboxError,
    interpreter_exposures,
    make_box,
    remove_box,
    sandbox_env,
)

_DRAIN_SECONDS = 2.0


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed run (per process where the kernel counts per process)."""

    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    memory_bytes: int = 1 << 30  # address space per process
    max_processes: int = 64
    file_size_bytes: int = 64 << 20
    open_files: int = 256
    max_output_bytes: int = 64 << 10  # per stream kept in the result; the rest is dropped


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed program ended; `killed_reason` names the limit or protection that stopped it."""

    returncode: int  # negative: killed by that signal (as in subprocess)
    stdout: str
    stderr: str
    timed_out: bool
    killed_reason: str | None
    duration: float

    @property
    def ok(self) -> bool:
        """True when the program finished by itself with exit status 0."""
        return self.returncode == 0 and not self.timed_out

    def feedback(self, max_chars: int = 4000) -> str:
        """The failure written for the model: why it stopped, then the end of its output."""
        head = f"The program exited with status {self.returncode}."
        if self.killed_reason:
            head = f"The program was stopped by the sandbox: {self.killed_reason}."
        output = (self.stdout + "\n" + self.stderr).strip()
        return f"{head}\n{output[-max_chars:]}" if output else head


class _BoundedOutput:
    """Keeps the first and the last bytes of a stream; what lies between is counted, not kept."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 4
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.head_limit - len(self.head)
        self.head += chunk[:room]
        self.tail += chunk[max(room, 0) :]
        excess = len(self.tail) - self.tail_limit
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    def text(self) -> str:
        middle = (
            f"\n[... {self.dropped} bytes dropped by the sandbox ...]\n" if self.dropped else ""
        )
        return self.head.decode(errors="replace") + middle + self.tail.decode(errors="replace")


def _rlimits(limits: SandboxLimits) -> dict[str, tuple[int, int]]:
    return {
        # Soft limit sends SIGXCPU; one second later the hard limit sends SIGKILL.
        "RLIMIT_CPU": (limits.cpu_seconds, limits.cpu_seconds + 1),
        "RLIMIT_AS": (limits.memory_bytes, limits.memory_bytes),
        "RLIMIT_NPROC": (limits.max_processes, limits.max_processes),
        "RLIMIT_FSIZE": (limits.file_size_bytes, limits.file_size_bytes),
        "RLIMIT_NOFILE": (limits.open_files, limits.open_files),
        "RLIMIT_CORE": (0, 0),
    }


def _pump(
    proc: subprocess.Popen[bytes], status_fd: int, deadline: float, limit: int
) -> tuple[_BoundedOutput, _BoundedOutput, bytes, bool]:
    """Read stdout, stderr and the jail's status pipe until all close or the deadline passes."""
    assert proc.stdout is not None
    assert proc.stderr is not None
    out, err, status = _BoundedOutput(limit), _BoundedOutput(limit), bytearray()
    sinks = {proc.stdout.fileno(): out.add, proc.stderr.fileno(): err.add, status_fd: status.extend}
    selector = selectors.DefaultSelector()
    for fd in sinks:
        selector.register(fd, selectors.EVENT_READ)
    timed_out = finished = False
    while selector.get_map():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if timed_out or finished:
                # Without namespaces a leftover child may hold the pipes: kill it, stop reading.
                _kill_group(proc)
                break
            timed_out = True
            _kill_group(proc)
            deadline = time.monotonic() + _DRAIN_SECONDS
            continue
        for key, _ in selector.select(remaining):
            chunk = os.read(key.fd, 65536)
            if chunk:
                sinks[key.fd](chunk)
                continue
            selector.unregister(key.fd)
            if key.fd == status_fd and not timed_out:
                # The jail is gone, so the program ended; leave its output a moment to drain.
                finished = True
                deadline = min(deadline, time.monotonic() + _DRAIN_SECONDS)
    selector.close()
    return out, err, bytes(status), timed_out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # The jail leads its own process group; with namespaces, killing its pid 1 kills the rest.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _events(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.decode(errors="replace").splitlines() if line.strip()]


# Errors the limits cause, as the program (or pytest, on stdout) prints them before exiting.
_OUTPUT_REASONS = (
    ("MemoryError", "memory limit: the program ran out of its {mem} MiB address space"),
    ("Cannot allocate memory", "memory limit: the program ran out of its {mem} MiB address space"),
    ("Resource temporarily unavailable", "process limit: no more than {nproc} processes allowed"),
    ("Network is unreachable", "network access blocked: the sandbox has no network"),
    ("Read-only file system", "write outside the sandbox folder refused"),
    ("File too large", "file size limit: no file may exceed {fsize} MiB"),
)


def _reason(
    status: int | None, timed_out: bool, output: str, limits: SandboxLimits, wall: float
) -> str | None:
    """Name the limit that stopped the program, from its signal or its last error message."""
    if timed_out:
        return f"wall time limit: still running after {wall:g} s, all its processes were killed"
    if status is not None and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return f"CPU time limit: used more than {limits.cpu_seconds} s of CPU"
        if sig == signal.SIGXFSZ:
            return f"file size limit: no file may exceed {limits.file_size_bytes >> 20} MiB"
        return f"killed by signal {signal.Signals(sig).name}"
    if status is None or os.waitstatus_to_exitcode(status) == 0:
        return None
    tail = output[-4000:]
    sizes = {
        "mem": limits.memory_bytes >> 20,
        "nproc": limits.max_processes,
        "fsize": limits.file_size_bytes >> 20,
    }
    for marker, template in _OUTPUT_REASONS:
        if marker in tail:
            return template.format(**sizes)
    return None


def _launch(
    box: Box, argv: Sequence[str], env: dict[str, str], isolate: bool, limits: SandboxLimits
) -> tuple[subprocess.Popen[bytes], int]:
    status_r, status_w = os.pipe()
    config = {
        "argv": list(argv),
        "cwd": str(box.project),
        "env": env,
        "uid": box.uid,
        "gid": box.gid,
        "rlimits": _rlimits(limits),
        "status_fd": status_w,
        "isolate": isolate,
        "box": str(box.root),
        "box_tmp": str(box.tmp),
        "exposed": interpreter_exposures(),
    }
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", jail.__file__, json.dumps(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            pass_fds=(status_w,),
            start_new_session=True,
        )
    except OSError as exc:
        os.close(status_r)
        raise SandboxError(f"Could not start the sandbox: {exc}") from exc
    finally:
        os.close(status_w)
    return proc, status_r


def execute(
    box: Box,
    argv: Sequence[str],
    limits: SandboxLimits,
    *,
    isolate: bool,
    wall: float,
    extra_env: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run `argv` in an already prepared box; raises SandboxError if the jail could not be built."""
    env = sandbox_env(box, isolated=isolate, extra=extra_env)
    started = time.monotonic()
    proc, status_r = _launch(box, argv, env, isolate, limits)
    try:
        out, err, raw_status, timed_out = _pump(
            proc, status_r, started + wall, limits.max_output_bytes
        )
    finally:
        os.close(status_r)
        _kill_group(proc)  # no straggler of a finished run survives, even without namespaces
        proc.wait()
    duration = time.monotonic() - started
    status: int | None = None
    for event in _events(raw_status):
        if event["event"] == "setup_error":
            raise SandboxError(
                f"The sandbox could not be set up: {event['message']}",
                "Run `devmatrix doctor` to see which protections work on this machine.",
            )
        if event["event"] == "exec_error":
            return SandboxResult(127, out.text(), event["message"], False, None, duration)
        if event["event"] == "exited":
            status = int(event["status"])
    returncode = -signal.SIGKILL if status is None else os.waitstatus_to_exitcode(status)
    stderr = err.text()
    reason = _reason(status, timed_out, f"{out.text()[-2000:]}\n{stderr[-2000:]}", limits, wall)
    return SandboxResult(returncode, out.text(), stderr, timed_out, reason, duration)


def run_boxed(
    project_dir: Path,
    argv: Sequence[str],
    limits: SandboxLimits,
    *,
    isolate: bool,
    drop_privileges: bool,
    wall: float,
    extra_env: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Copy the project into a fresh box, run `argv` there, and delete the box afterwards."""
    box = make_box(project_dir, drop_privileges=drop_privileges)
    try:
        return execute(box, argv, limits, isolate=isolate, wall=wall, extra_env=extra_env)
    finally:
        remove_box(box)
