"""The language server's link to a DevMatrix backend: a configured team URL, or a private local
backend (`devmatrix serve --port 0`) started on demand and stopped on exit."""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx

INSTALL_HINT = (
    "The DevMatrix engine is not installed in this Python environment, so no private backend can "
    "be started. Install it with `pip install 'devmatrix[all]'`, or set the backend URL "
    "(initializationOptions.backendUrl) to a team backend."
)


class BackendUnavailable(Exception):
    """No backend could be reached or started; the message says what to do."""


@dataclass
class BackendSettings:
    """What the editor told us through initializationOptions or didChangeConfiguration."""

    url: str | None = None
    token: str | None = None

    @classmethod
    def from_options(cls, options: Any) -> BackendSettings:
        """Read `backendUrl` and `token` from an options object, ignoring anything else."""
        if not isinstance(options, dict):
            return cls()
        url = options.get("backendUrl") or None
        token = options.get("token") or None
        return cls(url=str(url).rstrip("/") if url else None, token=str(token) if token else None)


@dataclass
class Backend:
    """A connection to one backend; owns the private backend process when it started one."""

    settings: BackendSettings = field(default_factory=BackendSettings)
    process: asyncio.subprocess.Process | None = None
    base_url: str | None = None

    async def ensure_started(self) -> str:
        """The backend's base URL, starting a private one when none is configured."""
        if self.settings.url:
            self.base_url = self.settings.url
        elif self.base_url is None:
            self.base_url = await self._start_private()
        return self.base_url

    async def _start_private(self) -> str:
        if shutil.which("devmatrix") is None and not _engine_importable():
            raise BackendUnavailable(INSTALL_HINT)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "devmatrix",
            "serve",
            "--port",
            "0",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout=60)
        except TimeoutError:
            await self.stop()
            raise BackendUnavailable("The private backend did not start within 60 s.") from None
        url = line.decode().strip()
        if not url.startswith("http"):
            await self.stop()
            raise BackendUnavailable(f"The private backend failed to start: {url or 'no output'}")
        return url

    async def get_json(self, path: str) -> Any:
        """GET a JSON document from the backend."""
        base = await self.ensure_started()
        headers = {"Authorization": f"Bearer {self.settings.token}"} if self.settings.token else {}
        try:
            async with httpx.AsyncClient(base_url=base, timeout=10, headers=headers) as client:
                response = await client.get(path)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"The backend at {base} is unreachable: {exc}") from None
        response.raise_for_status()
        return response.json()

    async def stop(self) -> None:
        """Stop the private backend, if this server started one."""
        if self.process and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout=10)
            except TimeoutError:
                self.process.kill()
        self.process = None


def _engine_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("devmatrix") is not None
