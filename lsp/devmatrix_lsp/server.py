"""The DevMatrix language server: one decorated function per LSP feature, state on the server."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from devmatrix_lsp import __version__
from devmatrix_lsp.backend import Backend, BackendSettings, BackendUnavailable

STATUS_COMMAND = "devmatrix.status"


class DevMatrixLanguageServer(LanguageServer):
    """Holds the backend connection for the editor session."""

    def __init__(self) -> None:
        super().__init__("devmatrix-lsp", __version__)
        self.backend = Backend()


server = DevMatrixLanguageServer()


@server.feature(types.INITIALIZE)
def initialize(ls: DevMatrixLanguageServer, params: types.InitializeParams) -> None:
    """Take the backend URL and token from initializationOptions."""
    ls.backend.settings = BackendSettings.from_options(params.initialization_options)


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(
    ls: DevMatrixLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    """New settings replace the old; a changed URL drops the old connection."""
    settings = (
        params.settings.get("devmatrix", params.settings)
        if isinstance(params.settings, dict)
        else None
    )
    new = BackendSettings.from_options(settings)
    if new != ls.backend.settings:
        await ls.backend.stop()
        ls.backend = Backend(settings=new)


@server.command(STATUS_COMMAND)
async def status(ls: DevMatrixLanguageServer, *args: Any) -> dict[str, Any]:
    """Report which backend is in use and whether it answers."""
    try:
        health = await ls.backend.get_json("/api/v1/health/live")
    except BackendUnavailable as exc:
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=str(exc))
        )
        return {"backend": ls.backend.settings.url, "state": "unreachable", "message": str(exc)}
    return {"backend": ls.backend.base_url, "state": "connected", "health": health}


@server.feature(types.SHUTDOWN)
async def shutdown(ls: DevMatrixLanguageServer, *args: Any) -> None:
    """Stop the private backend with the editor."""
    await ls.backend.stop()
