"""The server stays out of the language server and is imported lazily by the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = (
    "import importlib, sys\n"
    "for name in sys.argv[1:]:\n"
    "    importlib.import_module(name)\n"
    "print(sorted(m for m in sys.modules if m.split('.')[0] == 'devmatrix_server'))\n"
)


@pytest.mark.parametrize(
    "modules",
    [
        ["devmatrix_lsp", "devmatrix_lsp.server", "devmatrix_lsp.backend"],
        ["devmatrix.cli"],
    ],
)
def test_module_does_not_import_the_server(modules):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *modules], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
