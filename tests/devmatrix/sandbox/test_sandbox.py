"""The sandbox stops hostile generated code and reports why; honest code runs normally."""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devmatrix.sandbox import (
    SandboxError,
    SandboxLimits,
    SandboxResult,
    run_in_sandbox,
    run_pytest,
    sandbox_capabilities,
)
from devmatrix.sandbox.runner import run_boxed

FAST = SandboxLimits(cpu_seconds=10, wall_seconds=20, memory_bytes=512 << 20, max_processes=16)


def _project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def _run(
    tmp_path: Path, code: str, limits: SandboxLimits = FAST, timeout: float | None = None
) -> SandboxResult:
    project = _project(tmp_path / "proj", {"main.py": code})
    return run_in_sandbox(project, [sys.executable, "main.py"], limits, timeout=timeout)


def _processes_of(uid: int) -> list[int]:
    """Live (non-zombie) processes of `uid`; waits up to 3 s for killed ones to be reaped."""
    deadline = time.monotonic() + 3
    while True:
        found = [pid for pid, status in _statuses() if _owned_and_alive(status, uid)]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _statuses() -> Iterator[tuple[int, str]]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                yield int(entry), Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue  # exited while we looked


def _owned_and_alive(status: str, uid: int) -> bool:
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return str(uid) in fields["Uid"].split() and not fields["State"].strip().startswith("Z")


def test_every_protection_is_active_here() -> None:
    caps = sandbox_capabilities()
    assert caps["mode"] == "namespaces", caps["note"]
    for name in (
        "separate_uid",
        "network_isolated",
        "filesystem_read_only_outside_box",
        "pid_namespace",
        "process_limit_enforced",
    ):
        assert caps[name] is True, name


def test_normal_program_runs_on_a_copy_that_is_deleted_afterwards(tmp_path: Path) -> None:
    code = """
        import os, pathlib
        pathlib.Path("main.py").write_text("changed")
        pathlib.Path("new.txt").write_text("made inside")
        print("cwd", os.getcwd())
        print("hello from the box")
    """
    result = _run(tmp_path, code)
    assert result.ok, result.stderr
    assert result.killed_reason is None
    assert "hello from the box" in result.stdout
    box_dir = Path(result.stdout.split("cwd ")[1].split()[0])
    assert box_dir != tmp_path / "proj"
    assert not box_dir.exists()
    assert (tmp_path / "proj" / "main.py").read_text() == textwrap.dedent(code)
    assert not (tmp_path / "proj" / "new.txt").exists()


def test_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("DEVMATRIX_JWT_SECRET", "also-secret")
    monkeypatch.setenv("SOME_HARMLESS_VAR", "x")
    result = _run(tmp_path, "import os, json; print(json.dumps(dict(os.environ)))")
    assert result.ok, result.stderr
    assert "sk-should-not-leak" not in result.stdout
    assert "also-secret" not in result.stdout
    assert "SOME_HARMLESS_VAR" not in result.stdout
    env = json.loads(result.stdout)
    assert env["HOME"].endswith("/home")
    assert "/devmatrix-sbx-" in env["HOME"]
    assert env["PYTHONHASHSEED"] == "0"


def test_secret_looking_extra_env_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj", {"main.py": "print(1)"})
    with pytest.raises(SandboxError, match="OPENAI_API_KEY"):
        run_in_sandbox(project, [sys.executable, "main.py"], extra_env={"OPENAI_API_KEY": "k"})


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[object]]]:
    """A real TCP server on 127.0.0.1 that records every connection it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            accepted.append(peer)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_socket_to_a_listening_loopback_server_is_blocked(
    tmp_path: Path, loopback_server: tuple[int, list[object]]
) -> None:
    port, accepted = loopback_server
    with socket.create_connection(("127.0.0.1", port)):
        pass  # the server does answer outside the sandbox
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5); print('IN')"
    result = _run(tmp_path, code)
    assert not result.ok
    assert "IN" not in result.stdout
    assert result.killed_reason is not None
    assert "network" in result.killed_reason
    assert len(accepted) == 1  # only our own probe connection above


def test_writes_outside_the_box_are_refused_and_reported(tmp_path: Path) -> None:
    target = f"/var/tmp/devmatrix-escape-{os.getpid()}"
    result = _run(tmp_path, f"open({target!r}, 'w').write('escaped')")
    assert not result.ok
    assert result.killed_reason == "write outside the sandbox folder refused"
    assert not os.path.exists(target)


def test_no_write_reaches_the_workspace_or_the_real_tmp(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    open_dir = Path(tempfile.mkdtemp(prefix="devmatrix-open-"))
    open_dir.chmod(0o777)  # world-writable: only the mount namespace stands in the way
    tmp_name = f"/tmp/devmatrix-escape-{os.getpid()}"
    code = f"""
        import json
        outcome = {{}}
        for path in [{str(workspace / "x.txt")!r}, {str(open_dir / "x.txt")!r}, {tmp_name!r},
                     "/etc/devmatrix-escape", "/var/tmp/devmatrix-escape", "/root/x"]:
            try:
                with open(path, "w") as out:
                    out.write("escaped")
                outcome[path] = "written"
            except OSError as exc:
                outcome[path] = exc.strerror
        print(json.dumps(outcome))
    """
    try:
        result = _run(tmp_path, code)
        assert result.ok, result.stderr
        outcome = json.loads(result.stdout)
        # /tmp inside the box is the box's own tmp/: the write lands there, not in the real /tmp.
        assert outcome.pop(tmp_name) == "written"
        assert not os.path.exists(tmp_name)
        assert all(value != "written" for value in outcome.values()), outcome
        assert list(workspace.iterdir()) == []
        assert list(open_dir.iterdir()) == []
    finally:
        open_dir.rmdir()


def test_allocating_10_gb_is_stopped(tmp_path: Path) -> None:
    result = _run(tmp_path, "data = bytearray(10 * 1024**3); print('allocated')")
    assert not result.ok
    assert "allocated" not in result.stdout
    assert result.killed_reason is not None
    assert result.killed_reason.startswith("memory limit")


def test_loop_forever_is_killed_with_every_process_it_started(tmp_path: Path) -> None:
    code = """
        import os, subprocess
        print(os.getuid(), flush=True)
        subprocess.Popen(["sleep", "600"], start_new_session=True)  # tries to outlive the run
        while True:
            pass
    """
    result = _run(tmp_path, code, timeout=1.5)
    assert result.timed_out
    assert not result.ok
    assert result.killed_reason is not None
    assert result.killed_reason.startswith("wall time limit")
    assert result.duration < 6
    assert _processes_of(int(result.stdout.split()[0])) == []


def test_cpu_time_limit_stops_a_busy_loop(tmp_path: Path) -> None:
    limits = SandboxLimits(cpu_seconds=1, wall_seconds=20, memory_bytes=512 << 20)
    result = _run(tmp_path, "while True:\n    pass", limits)
    assert not result.timed_out
    assert result.returncode < 0
    assert result.killed_reason == "CPU time limit: used more than 1 s of CPU"


def test_fork_bomb_is_contained_and_leaves_nothing_behind(tmp_path: Path) -> None:
    code = """
        import os
        print(os.getuid(), flush=True)
        while True:
            os.fork()
    """
    limits = SandboxLimits(cpu_seconds=5, wall_seconds=10, memory_bytes=256 << 20, max_processes=8)
    result = _run(tmp_path, code, limits, timeout=5)
    assert not result.ok
    assert result.killed_reason is not None
    assert result.killed_reason.startswith(("process limit", "wall time limit"))
    uid = int(result.stdout.split()[0])
    assert uid != 0
    assert _processes_of(uid) == []


def test_file_size_limit(tmp_path: Path) -> None:
    limits = SandboxLimits(file_size_bytes=1 << 20, memory_bytes=512 << 20)
    result = _run(tmp_path, "open('big.bin', 'wb').write(b'x' * (2 << 20))", limits)
    assert not result.ok
    assert result.killed_reason == "file size limit: no file may exceed 1 MiB"


def test_output_is_truncated_to_its_bound(tmp_path: Path) -> None:
    limits = SandboxLimits(max_output_bytes=4096, memory_bytes=512 << 20)
    result = _run(tmp_path, "print('a' * 100_000 + 'END')", limits)
    assert result.ok
    assert len(result.stdout) < 4096 + 100
    assert "bytes dropped by the sandbox" in result.stdout
    assert result.stdout.rstrip().endswith("END")


def test_missing_program_is_reported(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj", {"main.py": ""})
    result = run_in_sandbox(project, ["no-such-program-devmatrix"], FAST)
    assert result.returncode == 127
    assert "no-such-program-devmatrix" in result.stderr


PACKAGE = {
    "calc/__init__.py": "",
    "calc/ops.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
    "tests/test_ops.py": "from calc.ops import add\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def test_pytest_run_passes(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj", PACKAGE)
    result = run_pytest(project, ["tests/test_ops.py"], FAST)
    assert result.ok, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_pytest_run_failure_is_reported_with_its_assertion(tmp_path: Path) -> None:
    files = dict(PACKAGE, **{"calc/ops.py": "def add(a, b):\n    return a - b\n"})
    project = _project(tmp_path / "proj", files)
    result = run_pytest(project, ["tests/test_ops.py"], FAST)
    assert not result.ok
    assert result.returncode == 1
    assert result.killed_reason is None
    assert "assert -1 == 5" in result.stdout
    assert "1 failed" in result.feedback()


def test_doctor_reports_the_sandbox_protections() -> None:
    from devmatrix.config import get_settings
    from devmatrix.doctor_checks import check_sandbox

    check = check_sandbox(get_settings())
    assert check.part == "sandbox"
    assert check.ok
    assert check.implementation == "namespaces"
    assert check.detail == "all protections active"


def test_pytest_test_opening_a_socket_fails_with_the_reason(
    tmp_path: Path, loopback_server: tuple[int, list[object]]
) -> None:
    port, accepted = loopback_server
    test = (
        f"import socket\n\ndef test_net():\n    socket.create_connection(('127.0.0.1', {port}))\n"
    )
    project = _project(tmp_path / "proj", {"tests/test_net.py": test})
    result = run_pytest(project, ["tests/test_net.py"], FAST)
    assert not result.ok
    assert "1 failed" in result.stdout
    assert result.killed_reason == "network access blocked: the sandbox has no network"
    assert accepted == []


def test_without_namespaces_leftover_children_are_still_killed(tmp_path: Path) -> None:
    # The fallback used where namespaces are unavailable: separate uid, rlimits, process group.
    # /bin/sh, not Python: without the mount namespace the interpreter under /root is out of reach.
    code = "id -u\nsleep 600 &\n"  # the sleep inherits stdout and would outlive the program
    project = _project(tmp_path / "proj", {"main.sh": code})
    result = run_boxed(
        project,
        ["/bin/sh", "main.sh"],
        FAST,
        isolate=False,
        drop_privileges=True,
        wall=20,
    )
    assert result.ok, result.stderr
    assert not result.timed_out
    assert result.duration < 10
    uid = int(result.stdout.split()[0])
    assert uid != 0
    assert _processes_of(uid) == []
