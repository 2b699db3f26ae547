"""The sandbox: generated code and its tests run only here, on a temporary copy of the project.

As root on Linux each run gets: a private copy (`box`), a fresh unprivileged uid/gid, rlimits
(CPU, address space, processes, file size, open files), a scrubbed environment, new mount / network
/ pid / ipc / uts namespaces with every mount read-only except the box (whose tmp/ is mounted on
/tmp), no_new_privs, and a wall-clock deadline after which all its processes are killed. Without
root only the rlimits, the scrubbed environment, the copy and the deadline apply;
`sandbox_capabilities()` and `devmatrix doctor` say which protections are active.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devmatrix.sandbox.box import SandboxError
from devmatrix.sandbox.runner import SandboxLimits, SandboxResult, run_boxed

__all__ = [
    "SandboxError",
    "SandboxLimits",
    "SandboxResult",
    "run_in_sandbox",
    "run_pytest",
    "sandbox_capabilities",
]

# Runs inside the sandbox once to observe (not assume) what the protections look like from inside.
_PROBE = """
import json, os, socket
def writable(folder):
    path = os.path.join(folder, ".devmatrix-probe")
    try:
        open(path, "w").close()
        os.unlink(path)
        return True
    except OSError:
        return False
print(json.dumps({"uid": os.getuid(), "pid": os.getpid(), "var_tmp": writable("/var/tmp"),
                  "interfaces": [name for _, name in socket.if_nameindex()]}))
"""


@dataclass(frozen=True)
class _Mode:
    isolate: bool
    drop_privileges: bool
    observed: dict[str, object]
    note: str


def _probe(isolate: bool, drop: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="devmatrix-probe-") as empty:
        result = run_boxed(
            Path(empty),
            [sys.executable, "-I", "-S", "-c", _PROBE],
            SandboxLimits(),
            isolate=isolate,
            drop_privileges=drop,
            wall=30.0,
        )
    if not result.ok:
        raise SandboxError(
            f"The interpreter {sys.executable} does not run inside the sandbox: "
            f"{result.feedback()}",
            "Make the virtualenv and its Python readable and executable by other users.",
        )
    observed: dict[str, object] = json.loads(result.stdout)
    return observed


@functools.cache
def _mode() -> _Mode:
    """Pick the strongest isolation that works here, once per process."""
    if not sys.platform.startswith("linux"):
        return _Mode(False, False, {}, "not Linux: only rlimits and the wall-clock deadline apply")
    if os.geteuid() != 0:
        note = "not root: no separate uid and no namespaces; rlimits count your user's processes"
        return _Mode(False, False, _probe(False, False), note)
    notes: list[str] = []
    for isolate, drop in ((True, True), (False, True), (False, False)):
        try:
            return _Mode(isolate, drop, _probe(isolate, drop), "; ".join(notes))
        except SandboxError as exc:
            notes.append(f"{_MODE_NAMES[isolate, drop]} failed: {exc.message}")
    raise SandboxError(
        "No sandbox mode works on this machine: " + "; ".join(notes),
        "Run as root on Linux, or make the Python interpreter readable by other users.",
    )


_MODE_NAMES = {
    (True, True): "namespaces with a separate uid",
    (False, True): "separate uid without namespaces",
    (False, False): "rlimits only, as root",
}


def sandbox_capabilities() -> dict[str, object]:
    """Which protections are active on this machine, as observed from inside a probe run."""
    mode = _mode()
    seen = mode.observed
    return {
        "mode": "namespaces" if mode.isolate else "rlimits-only",
        "separate_uid": mode.drop_privileges and seen.get("uid") != 0,
        "network_isolated": mode.isolate and seen.get("interfaces") == ["lo"],
        "filesystem_read_only_outside_box": mode.isolate and seen.get("var_tmp") is False,
        "pid_namespace": mode.isolate and seen.get("pid") == 2,
        # The kernel ignores RLIMIT_NPROC for root; it only binds once we run as another uid.
        "process_limit_enforced": seen.get("uid") != 0,
        "rlimits": ["cpu", "address space", "processes", "file size", "open files"],
        "scrubbed_env": True,
        "note": mode.note,
    }


def run_in_sandbox(
    project_dir: Path,
    argv: Sequence[str],
    limits: SandboxLimits | None = None,
    *,
    timeout: float | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run `argv` inside a fresh sandboxed copy of `project_dir`; the copy is deleted afterwards.

    A program that breaks a limit gives a failed result with `killed_reason`; SandboxError is
    raised only when the sandbox itself cannot be built.
    """
    limits = limits or SandboxLimits()
    mode = _mode()
    return run_boxed(
        project_dir,
        argv,
        limits,
        isolate=mode.isolate,
        drop_privileges=mode.drop_privileges,
        wall=timeout if timeout is not None else limits.wall_seconds,
        extra_env=extra_env,
    )


def run_pytest(
    project_dir: Path,
    test_paths: Sequence[str],
    limits: SandboxLimits | None = None,
    *,
    timeout: float | None = None,
    plugins: Sequence[str] = (),
    extra_args: Sequence[str] = (),
) -> SandboxResult:
    """Run pytest (this interpreter's) on `test_paths`, relative to the project, in the sandbox.

    Only the `plugins` named (e.g. "pytest_asyncio.plugin") are loaded: autoloading every plugin
    of the engine's virtualenv costs seconds per run and is not what the generated project asked for.
    """
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    for plugin in plugins:
        argv += ["-p", plugin]
    argv += [*extra_args, "--", *test_paths]
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return run_in_sandbox(project_dir, argv, limits, timeout=timeout, extra_env=env)
