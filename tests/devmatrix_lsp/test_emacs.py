"""A real Emacs in batch mode drives devmatrix-lsp through Eglot, with the set-up of
docs/editors/emacs.md.

The elisp blocks of the doc are loaded as they are written: the init-file entry of
`eglot-server-programs`, the `devmatrix-command` and `devmatrix-apply-all` functions, and the
offline-demo contact (its placeholder answers path replaced by the fixture's). The driver
(emacs/flow.el) visits the atom's file, starts Eglot there, and walks the calc spec: plan ->
approve -> run -> the review-needed warning reaches Flymake -> Eglot's `eglot-code-actions`
applies the atom (its edit) -> the saved file holds it -> approving the review item through its
code action clears the warning -> `devmatrix-apply-all` fills a new, empty file -> Eglot shuts
the server down. The driver prints one line per step; the tests assert on them.
"""

from __future__ import annotations

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

from tests.devmatrix_lsp.test_neovim import CONTRACT_COMMANDS, processes_using

pytestmark = pytest.mark.slow  # one Emacs session with a private backend: about 10 s

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "emacs" / "flow.el"
DOC = ROOT / "docs" / "editors" / "emacs.md"
FIXTURES = ROOT / "tests" / "fixtures" / "execution"
FLOW_TIMEOUT_SECONDS = 120  # the driver's watchdog; pytest kills Emacs 30 s later
PROBE_TIMEOUT_SECONDS = 30
# With a threshold of 1.0 the calc run sends mul (validated on its second answer, confidence
# 0.85) to review; add and the tests pass first time at full confidence.
ATOM = {"file": "calc/mul.py", "name": "mul", "body": "total = add(total, a)"}
# add validated at full confidence: `devmatrix-apply-all` brings it into a new, empty file.
VALIDATED_FILE = {"file": "calc/ops.py", "body": "def add(a: int, b: int) -> int:"}
HEADER = "# calc: multiplication by repeated addition\n"
ELISP_BLOCK = re.compile(r"^```elisp\n(.*?)^```", re.MULTILINE | re.DOTALL)
PLACEHOLDER_ANSWERS = '"/path/to/answers.json"'
LINE = re.compile(r"^DEVMATRIX-FLOW (\S+) (\S+) (.*)$")


def doc_snippets() -> dict[str, str]:
    """The four elisp blocks of the doc the driver loads, found by what they define."""
    blocks = ELISP_BLOCK.findall(DOC.read_text(encoding="utf-8"))

    def only(description: str, test: Any) -> str:
        found = [b for b in blocks if test(b)]
        assert len(found) == 1, f"emacs.md: expected one {description} block, found {len(found)}"
        return str(found[0])

    return {
        "config": only(
            "init-file (add-to-list 'eglot-server-programs",
            lambda b: b.startswith("(with-eval-after-load 'eglot\n  (add-to-list"),
        ),
        "command": only("(defun devmatrix-command", lambda b: "(defun devmatrix-command" in b),
        "apply_all": only(
            "(defun devmatrix-apply-all", lambda b: "(defun devmatrix-apply-all" in b
        ),
        "contact": only(
            "offline demo contact",
            lambda b: b.startswith('("devmatrix-lsp" :initializationOptions'),
        ),
    }


def emacs_binary() -> Path | None:
    """`emacs` on PATH."""
    found = shutil.which("emacs")
    return Path(found) if found else None


def eglot_probe(emacs: Path) -> tuple[bool, str]:
    """Whether Eglot loads in `emacs -Q` (built in, or the distribution's package), and the
    versions line the driver printed."""
    probe = subprocess.run(
        [str(emacs), "--batch", "-Q", "-l", str(DRIVER), "--eval", "(devmatrix-flow-probe)"],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_SECONDS,
        env={**os.environ, "HOME": os.environ.get("HOME", "/tmp")},
    )
    line = probe.stdout.strip().splitlines()[-1] if probe.stdout.strip() else probe.stderr
    return probe.returncode == 0, line


@dataclass(repr=False)
class Flow:
    """What the driver printed: the data of each step, the failure if any, the whole output."""

    steps: dict[str, Any]
    failed: tuple[str, str] | None
    returncode: int
    output: str
    messages: str
    leftovers: list[int]

    def step(self, name: str) -> Any:
        """The data of one step; fails with the whole trace when the step did not complete."""
        if name not in self.steps:
            pytest.fail(f"step {name!r} did not complete\n{self}")
        return self.steps[name]

    def __repr__(self) -> str:  # pytest shows an assertion's message object with repr()
        return (
            f"--- exit {self.returncode}, failed {self.failed} ---\n{self.output[-8000:]}\n"
            f"--- Emacs messages ---\n{self.messages[-3000:]}"
        )


def parse_output(output: str) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """The STEP lines as data and the first FAILED line as (step, reason)."""
    steps: dict[str, Any] = {}
    failed = None
    for line in output.splitlines():
        found = LINE.match(line)
        if not found:
            continue
        kind, name, payload = found.groups()
        if kind == "STEP":
            steps[name] = json.loads(payload)
        elif kind == "FAILED" and failed is None:
            failed = (name, payload)
    return steps, failed


def _environment(home: Path) -> dict[str, str]:
    """This environment without DEVMATRIX_* settings, `devmatrix-lsp` on PATH, HOME in `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVMATRIX_")}
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "devmatrix-lsp").exists():
        # The doc runs `devmatrix-lsp` from exec-path: give it one that runs this interpreter's.
        bin_dir = home / "bin"
        bin_dir.mkdir()
        script = bin_dir / "devmatrix-lsp"
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m devmatrix_lsp "$@"\n')
        script.chmod(0o755)
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    env["HOME"] = str(home)
    return env


def _run_driver(
    emacs: Path, config_path: Path, home: Path, workspace: Path
) -> tuple[int, str, str]:
    """Run Emacs on the driver in its own process group; kill the group if it outlives the
    driver's own watchdog. Returns the exit code, stdout (the driver's lines) and stderr (what
    Emacs showed in the echo area)."""
    argv = [str(emacs), "--batch", "-Q", "-l", str(DRIVER)]
    process = subprocess.Popen(
        [*argv, "--eval", f"(devmatrix-flow-main {json.dumps(str(config_path))})"],
        cwd=workspace,
        env=_environment(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        output, messages = process.communicate(timeout=FLOW_TIMEOUT_SECONDS + 30)
        return process.returncode, output, messages
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # Emacs, the language server and its backend
        output, messages = process.communicate()
        return -9, output + f"\n[killed after {FLOW_TIMEOUT_SECONDS + 30} s]", messages


def _stop_leftovers(data_dir: Path, seconds: float) -> list[int]:
    """Give a private backend that is shutting down a few seconds, then kill what is left;
    returns the pids that were left."""
    deadline = time.monotonic() + seconds
    while (alive := processes_using(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    """One Emacs session through the whole flow; each test checks one stage of it."""
    emacs = emacs_binary()
    if emacs is None:
        pytest.skip("no emacs on PATH (apt-get install emacs-nox elpa-eglot, as .ci/run does)")
    loads, versions = eglot_probe(emacs)
    if not loads:
        pytest.skip(f"Eglot does not load in {emacs} ({versions}): apt-get install elpa-eglot")
    home = tmp_path_factory.mktemp("emacs")
    workspace = home / "workspace"
    (workspace / ".git").mkdir(parents=True)  # the project root Eglot picks (project.el, VC)
    shutil.copy(FIXTURES / "calc_spec.md", workspace / "calc_spec.md")
    # Flymake cannot show a diagnostic in an empty buffer (its overlays would be empty and
    # evaporate), so the atom's file starts with a line a person wrote.
    (workspace / "calc").mkdir()
    (workspace / ATOM["file"]).write_text(HEADER, encoding="utf-8")
    snippets = doc_snippets()
    answers = json.dumps(str(FIXTURES / "calc_answers.json"))  # an elisp string is a JSON one
    assert PLACEHOLDER_ANSWERS in snippets["contact"], snippets["contact"]
    snippets["contact"] = snippets["contact"].replace(PLACEHOLDER_ANSWERS, answers)
    paths = {}
    for name, text in snippets.items():
        paths[name] = home / f"{name}.el"
        paths[name].write_text(text, encoding="utf-8")
    config = {
        "workspace": str(workspace),
        "spec": "calc_spec.md",
        "snippets": {name: str(paths[name]) for name in ("config", "command", "apply_all")},
        "contact": str(paths["contact"]),
        "atom": ATOM,
        "apply_all": VALIDATED_FILE,
        "timeout": FLOW_TIMEOUT_SECONDS,
    }
    config_path = home / "flow.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    returncode, output, messages = _run_driver(emacs, config_path, home, workspace)
    print(output, "--- Emacs messages ---", messages, sep="\n")  # "Captured stdout setup"
    steps, failed = parse_output(output)
    leftovers = _stop_leftovers(workspace / ".devmatrix", seconds=10)
    return Flow(steps, failed, returncode, output, messages, leftovers)


def test_the_driver_completes_every_step(flow: Flow) -> None:
    assert flow.failed is None, flow
    assert flow.returncode == 0, flow
    versions = flow.step("versions")
    assert versions["eglot"], flow


def test_eglot_starts_the_documented_server_for_the_project(flow: Flow) -> None:
    connect = flow.step("connect")
    assert {"python-mode", "markdown-mode"} <= set(connect["modes"]), flow
    assert connect["first"] is True, flow  # add-to-list puts it before pylsp & co.
    assert connect["major_mode"] == "python-mode", flow
    assert Path(connect["root"]).name == "workspace", flow  # the folder holding .git
    assert connect["server_info"]["name"] == "devmatrix-lsp", flow
    assert set(connect["commands"]) >= CONTRACT_COMMANDS, flow
    status = flow.step("status")
    assert status["state"] == "connected", flow
    assert status["backend"].startswith("http://127.0.0.1:"), flow  # the private backend


def test_the_documented_command_function_plans_and_approves(flow: Flow) -> None:
    plan = flow.step("plan")
    assert isinstance(plan["planId"], int), flow
    markdown = Path(plan["uri"].removeprefix("file://"))
    # The private backend keeps its data in <root>/.devmatrix, where the leftover check looks.
    assert markdown.parent.parent.name == ".devmatrix", flow
    assert markdown.parent.parent.parent.name == "workspace", flow
    shown = markdown.read_text(encoding="utf-8")
    assert "Addition" in shown, flow  # the calc plan's two tasks
    assert "Multiplication" in shown, flow
    assert flow.step("approve") == {"planId": plan["planId"], "status": "approved"}, flow


def test_eglots_empty_configuration_keeps_the_initialization_options(flow: Flow) -> None:
    # Eglot sends an empty didChangeConfiguration on connect; the plan above was still made by
    # the scripted model that only :initializationOptions names.
    events = flow.step("events")
    assert events["workspace/didChangeConfiguration"] >= 1, flow
    flow.step("plan")
    # Eglot 1.9 claims neither showDocument nor work-done progress; the server asks for neither.
    assert events["window/showDocument"] == 0, flow
    assert events["window/workDoneProgress/create"] == 0, flow


def test_the_review_needed_warning_reaches_flymake(flow: Flow) -> None:
    run = flow.step("run")
    assert run["start"]["status"] in ("starting", "running", "finished"), flow
    assert run["flymake_mode"] is True, flow  # Eglot turned Flymake on in the managed buffer
    warning = run["review_needed"]
    assert warning["type"] == "eglot-warning", flow
    assert warning["text"].startswith("devmatrix [review-needed]: "), flow
    assert "0.85" in warning["text"], flow  # mul: validated on its second answer


def test_eglot_code_action_applies_the_atom_to_the_file(flow: Flow) -> None:
    step = flow.step("apply_atom")
    name = ATOM["name"]
    assert {
        f"DevMatrix: apply atom {name}",
        f"DevMatrix: approve review {name}",
        f"DevMatrix: regenerate atom {name}",
    } <= set(step["offered"]), flow
    assert step["before"] == HEADER, flow
    for text in (step["after"], step["on_disk"]):
        assert text.count("def mul(a: int, b: int) -> int:") == 1, flow
        assert ATOM["body"] in text, flow
        assert HEADER in text, flow  # inserted, nothing of the person's lost
    assert step["modified"] is False, flow  # saved


def test_approving_the_review_through_its_code_action_clears_the_warning(flow: Flow) -> None:
    step = flow.step("approve_review")
    first, last = step["moved"]["lines"]
    assert first <= step["def_line"] <= last, flow  # republished at the applied atom
    assert step["cleared_after_ms"] < 10_000, flow
    assert not [text for text in step["left"] if "review-needed" in text], flow


def test_the_documented_apply_all_fills_a_new_empty_file(flow: Flow) -> None:
    step = flow.step("apply_all")
    assert step["before"] == "", flow
    assert step["on_disk"].count(VALIDATED_FILE["body"]) == 1, flow
    assert "return a + b" in step["on_disk"], flow
    assert flow.step("events")["codeAction/resolve"] == 0, flow  # the edit came with the action


def test_eglot_shutdown_stops_the_server_and_its_private_backend(flow: Flow) -> None:
    shutdown = flow.step("shutdown")
    assert shutdown["answered"] is True, flow  # the shutdown request got its answer in time
    assert shutdown["live"] is False, flow  # Eglot 1.9 deletes the process after `exit`
    assert flow.leftovers == [], flow
