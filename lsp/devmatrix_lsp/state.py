"""The language server's state: settings, backend, event stream, open documents, active plan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from devmatrix_lsp import __version__
from devmatrix_lsp.backend import Backend, BackendUnavailable
from devmatrix_lsp.diagnostics import cached_unstructure
from devmatrix_lsp.documents import DocumentStore
from devmatrix_lsp.edits import EditSupport
from devmatrix_lsp.events import EventStream
from devmatrix_lsp.placement import Placement
from devmatrix_lsp.protocol import DevMatrixProtocol, is_parse_error
from devmatrix_lsp.settings import Settings
from devmatrix_lsp.tracker import PlanTracker

logger = logging.getLogger(__name__)
REPUBLISH_DELAY_SECONDS = 0.15
EVENT_NOTIFICATION = "devmatrix/event"


class DevMatrixLanguageServer(LanguageServer):
    """Everything one editor session holds; features live in server.py and commands.py."""

    def __init__(self) -> None:
        super().__init__(
            "devmatrix-lsp",
            __version__,
            protocol_cls=DevMatrixProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        converter = self.protocol._converter
        converter.register_unstructure_hook(
            types.Diagnostic, cached_unstructure(converter.get_unstructure_hook(types.Diagnostic))
        )
        self.settings = Settings()
        self.root: Path | None = None
        self.documents = DocumentStore()
        self.place = Placement(None, self.documents)
        self.edit_support = EditSupport()
        self.backend = Backend(self.settings, None)
        self.tracker = PlanTracker(self.backend, self.place, self.publish_diagnostics)
        self.stream: EventStream | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._republish: dict[str, asyncio.TimerHandle] = {}

    def setup(self, params: types.InitializeParams, settings: Settings) -> None:
        """Take the workspace root, the client's edit support and the settings."""
        root_uri = params.root_uri or (
            params.workspace_folders[0].uri if params.workspace_folders else None
        )
        path = to_fs_path(root_uri) if root_uri else params.root_path
        self.root = Path(path) if path else None
        self.place.root = self.root
        self.edit_support = EditSupport.of(params.capabilities)
        self.settings = settings
        self.backend = Backend(settings.with_environment(), self.root)
        self.tracker = PlanTracker(self.backend, self.place, self.publish_diagnostics)

    async def connect(self) -> None:
        """Reach (or start) the backend and follow its events; says so when it cannot."""
        self.stream = EventStream(self.backend, self._on_event, self._state_changed)
        self._stream_task = asyncio.get_running_loop().create_task(self.stream.run())
        try:
            await self.backend.ensure()
        except BackendUnavailable as exc:
            self.show_error(str(exc))

    async def reconfigure(self, settings: Settings) -> None:
        """Switch to new settings: drop the old backend (stopping a private one) and reconnect."""
        if settings == self.settings:
            return
        old_backend, old_stream = self.backend, self._stream_task
        self._stream_task = None
        self.tracker.clear()
        # Swapped before the first await: a request that arrives while the old backend stops
        # already goes to the new one (the old one's token is revoked once the new one starts).
        self.settings = settings
        self.backend = Backend(settings.with_environment(), self.root)
        self.tracker = PlanTracker(self.backend, self.place, self.publish_diagnostics)
        await _stop_following(old_stream)
        await old_backend.close()
        await self.connect()

    async def disconnect(self) -> None:
        """Stop following events and close (or stop) the backend."""
        task, self._stream_task = self._stream_task, None
        await _stop_following(task)
        await self.backend.close()

    def publish_diagnostics(self, params: types.PublishDiagnosticsParams) -> None:
        """Send diagnostics to the client."""
        self.text_document_publish_diagnostics(params)

    def republish_soon(self, uri: str) -> None:
        """Recompute a plan file's diagnostics shortly after its text changed (coalesced)."""
        file = self.place.relative(uri)
        if file is None or self.tracker.index is None or file not in self.tracker.index.by_file:
            return
        pending = self._republish.pop(uri, None)
        if pending is not None:
            pending.cancel()
        loop = asyncio.get_running_loop()
        self._republish[uri] = loop.call_later(
            REPUBLISH_DELAY_SECONDS, self.tracker.publish_file, file
        )

    def show_error(self, message: str) -> None:
        """A message for the person at the editor."""
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=message)
        )

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Unparsable JSON gets a ParseError answer; other errors as pygls reports them."""
        if is_parse_error(error) or is_parse_error(error.__cause__ or error):
            assert isinstance(self.protocol, DevMatrixProtocol)
            self.protocol.answer_parse_error(error)
            return
        super().report_server_error(error, source)

    def _on_event(self, event: dict[str, Any]) -> None:
        """Apply a backend event; events of the active plan also go to the client as they are
        (`devmatrix/event`), for views LSP has no words for (plan tree, review queue)."""
        self.tracker.on_event(event)
        if event.get("plan_id") is not None and event.get("plan_id") == self.tracker.plan_id:
            self.protocol.notify(EVENT_NOTIFICATION, event)

    def _state_changed(self) -> None:
        logger.info("backend %s: %s", self.backend.state, self.backend.message or "")


async def _stop_following(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
