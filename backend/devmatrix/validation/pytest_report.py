"""Reading what pytest reported: the JUnit XML file first, the `-rA` summary lines when it is missing.

Traceback frames are read from `--tb=short` text (`path.py:12: in func`), so failures can be
mapped back to the atom whose lines raised.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # the report is written by pytest, see parse_junit
from dataclasses import dataclass
from pathlib import Path

# "pkg/mod.py:12: in add" (short tracebacks) or "pkg/mod.py:12: ValueError" (the last frame line).
_FRAME = re.compile(r"^(?P<file>[^\s:][^:\n]*\.py):(?P<line>\d+):(?: in (?P<func>[\w<>.]+))?", re.M)
_SUMMARY = re.compile(
    r"^(?P<outcome>PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (?P<nodeid>\S+)(?: - (?P<msg>.*))?$",
    re.M,
)


@dataclass(frozen=True)
class Frame:
    """One traceback frame: file (as pytest printed it, relative to the rootdir), line, function."""

    file: str
    line: int
    function: str | None


@dataclass(frozen=True)
class TestOutcome:
    """One test's result; `outcome` is passed, failed, error or skipped."""

    __test__ = False  # not a pytest test class, despite the name

    nodeid: str
    outcome: str
    file: str | None = None
    line: int | None = None
    message: str = ""
    text: str = ""

    @property
    def name(self) -> str:
        """The test function's name (without parameters or class)."""
        return self.nodeid.rsplit("::", 1)[-1].split("[", 1)[0]

    @property
    def failed(self) -> bool:
        """True for a failure or an error (setup, collection)."""
        return self.outcome in ("failed", "error")

    def frames(self) -> list[Frame]:
        """Traceback frames found in the failure text, outermost first."""
        return [
            Frame(m["file"].strip(), int(m["line"]), m["func"]) for m in _FRAME.finditer(self.text)
        ]


def _nodeid(case: ET.Element) -> str:
    classname = case.get("classname", "")
    name = case.get("name", "")
    file = case.get("file")
    if file and classname:
        module = file[:-3].replace("/", ".") if file.endswith(".py") else file
        rest = classname.removeprefix(module).strip(".")
        return "::".join(p for p in (file, rest.replace(".", "::"), name) if p)
    return f"{classname}::{name}" if classname else name


def _outcome(case: ET.Element) -> tuple[str, str, str]:
    for tag, outcome in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        node = case.find(tag)
        if node is not None:
            return outcome, node.get("message", ""), node.text or ""
    return "passed", "", ""


def parse_junit(xml_text: str) -> list[TestOutcome]:
    """Outcomes from a pytest JUnit XML report (`-o junit_family=xunit1` adds file and line).

    The XML is written by pytest itself inside the sandbox; expat refuses entity expansion bombs.
    """
    root = ET.fromstring(xml_text)  # noqa: S314
    outcomes: list[TestOutcome] = []
    for case in root.iter("testcase"):
        outcome, message, text = _outcome(case)
        line = case.get("line")
        outcomes.append(
            TestOutcome(
                nodeid=_nodeid(case),
                outcome=outcome,
                file=case.get("file"),
                # JUnit lines are 0-based; ours are 1-based like tracebacks.
                line=int(line) + 1 if line and line.isdigit() else None,
                message=message,
                text=text,
            )
        )
    return outcomes


def parse_summary(output: str) -> list[TestOutcome]:
    """Outcomes from pytest's `-rA` short summary, used when no JUnit report was written."""
    outcomes = []
    for m in _SUMMARY.finditer(output):
        nodeid = m["nodeid"]
        file = nodeid.split("::", 1)[0]
        outcome = {"XFAIL": "skipped", "XPASS": "passed"}.get(m["outcome"], m["outcome"].lower())
        outcomes.append(
            TestOutcome(
                nodeid=nodeid,
                outcome=outcome,
                file=file if file.endswith(".py") else None,
                message=m["msg"] or "",
                text=_section_for(output, nodeid.rsplit("::", 1)[-1]),
            )
        )
    return outcomes


def _section_for(output: str, test_name: str) -> str:
    """The `____ test_name ____` block of pytest's failure section, if printed."""
    match = re.search(
        rf"^_+ (?:\w+\.)?{re.escape(test_name)} _+$\n(.*?)(?=^_{{3,}} |^=+ )", output, re.M | re.S
    )
    return match.group(1) if match else ""


def read_outcomes(report: Path | None, output: str) -> list[TestOutcome]:
    """The JUnit report when it exists and parses, else the summary lines of the output."""
    if report is not None and report.is_file():
        try:
            return parse_junit(report.read_text(encoding="utf-8", errors="replace"))
        except ET.ParseError:
            pass  # a truncated report (killed run): the printed summary is the next best source
    return parse_summary(output)
