"""The language server installs light: importing it pulls in none of the engine or its heavy stack."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "devmatrix",
    "devmatrix_server",
    "fastapi",
    "sqlmodel",
    "sqlalchemy",
    "chromadb",
    "starlette",
)


def test_importing_the_language_server_pulls_in_no_engine() -> None:
    probe = (
        "import json, sys, devmatrix_lsp, devmatrix_lsp.__main__;"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(result.stdout))
    assert "devmatrix_lsp" in loaded
    assert "pygls" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
