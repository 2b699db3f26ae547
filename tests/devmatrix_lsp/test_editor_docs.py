"""The editor set-ups in docs/editors/ stay true to the server: every snippet parses, every
setting it passes is one the server reads (and accepts), every command it names is one the
server advertises.

Neovim and Emacs are driven for real by their own tests (test_neovim.py, test_emacs.py). Helix
and Sublime Text cannot be installed on the test machines, so their snippets are checked here
against the server's own settings parser and command table instead.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from devmatrix_lsp.server import server
from devmatrix_lsp.settings import KEYS, Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "editors"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMMAND_NAME = re.compile(r"\bdevmatrix\.[a-z]+(?:\.[a-zA-Z]+)?\b")


def blocks(doc: str, language: str) -> list[str]:
    """The fenced code blocks of docs/editors/`doc` written in `language`."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    return [body for lang, body in FENCE.findall(text) if lang == language]


def strip_line_comments(source: str) -> str:
    """JSONC without its `//` comments (a `//` inside a string, as in a URL, stays)."""
    kept = []
    for line in source.splitlines():
        in_string = False
        for i, char in enumerate(line):
            if char == '"' and (i == 0 or line[i - 1] != "\\"):
                in_string = not in_string
            elif not in_string and line.startswith("//", i):
                line = line[:i]
                break
        kept.append(line)
    return "\n".join(kept)


def jsonc(source: str) -> Any:
    """A JSONC snippet as data; a bare `"key": value` fragment is read as a one-key object."""
    source = strip_line_comments(source).strip()
    if source.startswith('"'):
        source = "{" + source + "}"
    return json.loads(source)


def check_settings(options: dict[str, Any], where: str) -> None:
    unknown = set(options) - set(KEYS)
    assert not unknown, f"{where} passes settings the server ignores: {sorted(unknown)}"
    Settings.from_options(options)  # raises SettingsError on a wrong type or value


def objects_named(data: Any, key: str) -> list[Any]:
    """Every value stored under `key`, at any depth."""
    found = []
    if isinstance(data, dict):
        for name, value in data.items():
            if name == key:
                found.append(value)
            found += objects_named(value, key)
    elif isinstance(data, list):
        for item in data:
            found += objects_named(item, key)
    return found


def test_helix_snippets_parse_and_pass_known_settings() -> None:
    snippets = [tomllib.loads(body) for body in blocks("helix.md", "toml")]
    servers = [s["language-server"]["devmatrix"] for s in snippets if "language-server" in s]
    assert servers, "helix.md has no [language-server.devmatrix] table"
    for table in servers:
        assert table["command"] == "devmatrix-lsp"
        check_settings(table.get("config", {}), "a helix.md [language-server.devmatrix] config")
    languages = [lang for s in snippets for lang in s.get("language", [])]
    assert languages
    for language in languages:
        assert "devmatrix" in language["language-servers"], language["name"]
    partial = [s["config"] for s in snippets if set(s) == {"config"}]
    for config in partial:
        check_settings(config, "a helix.md config line")


def test_sublime_snippets_parse_and_pass_known_settings_and_commands() -> None:
    snippets = [jsonc(body) for body in blocks("sublime.md", "jsonc")]
    clients = [s["clients"] for s in snippets if isinstance(s, dict) and "clients" in s]
    assert clients, "sublime.md has no LSP client entry"
    for client in clients:
        assert client["devmatrix"]["command"] == ["devmatrix-lsp"]
    options = [o for s in snippets for o in objects_named(s, "initializationOptions")]
    assert len(options) >= 3
    for option in options:
        check_settings(option, "a sublime.md initializationOptions")
    executions = [e for s in snippets for e in objects_named(s, "args") if "command_name" in e]
    assert executions
    for execution in executions:
        assert execution["session_name"] == "devmatrix"
        assert execution["command_name"] in server.protocol.fm.commands


@pytest.mark.parametrize("doc", sorted(p.name for p in DOCS.glob("*.md")))
def test_every_command_a_doc_names_is_advertised(doc: str) -> None:
    named = set(COMMAND_NAME.findall((DOCS / doc).read_text(encoding="utf-8")))
    advertised = set(server.protocol.fm.commands)
    # `devmatrix.` also prefixes settings sections and code action kinds; only commands count.
    candidates = {n for n in named if n.split(".")[1] in {c.split(".")[1] for c in advertised}}
    assert candidates <= advertised, f"{doc} names unknown commands: {candidates - advertised}"
