"""The DevMatrix language server: one decorated function per LSP feature, state on the server
(state.py). Commands are in commands.py."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from devmatrix_lsp.actions import APPLY_ALL_KIND, code_actions, resolve_apply_all
from devmatrix_lsp.settings import Settings, SettingsError
from devmatrix_lsp.state import DevMatrixLanguageServer

server = DevMatrixLanguageServer()


@server.feature(types.INITIALIZE)
def initialize(ls: DevMatrixLanguageServer, params: types.InitializeParams) -> None:
    """Take the workspace root, the client's capabilities and the settings."""
    try:
        settings = Settings.from_options(params.initialization_options)
    except SettingsError as exc:
        ls.show_error(f"DevMatrix settings ignored: {exc}")
        settings = Settings()
    ls.setup(params, settings)


@server.feature(types.INITIALIZED)
async def initialized(ls: DevMatrixLanguageServer, params: types.InitializedParams) -> None:
    """Reach or start the backend and follow its events, without holding up the editor."""
    await ls.connect()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(
    ls: DevMatrixLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    """Given settings override the current ones; a changed backend drops the old connection."""
    try:
        settings = ls.settings.updated(params.settings)
    except SettingsError as exc:
        ls.show_error(f"DevMatrix settings ignored: {exc}")
        return
    await ls.reconfigure(settings)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: DevMatrixLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    """Track the document; a file of the active plan gets its diagnostics at the right lines."""
    ls.documents.open(params.text_document)
    ls.republish_soon(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: DevMatrixLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    """Apply incremental changes to the server's copy."""
    ls.documents.change(params)
    ls.republish_soon(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: DevMatrixLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    """Forget the document."""
    ls.documents.close(params.text_document.uri)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[
            types.CodeActionKind.QuickFix,
            types.CodeActionKind.RefactorRewrite,
            APPLY_ALL_KIND,
        ],
        resolve_provider=True,
    ),
)
def code_action(
    ls: DevMatrixLanguageServer, params: types.CodeActionParams
) -> list[types.CodeAction]:
    """Apply / approve / reject / regenerate actions on the atoms under the range."""
    return code_actions(
        ls.tracker.index, ls.place, ls.edit_support, params, resolve_edits=_resolves_edits(ls)
    )


@server.feature(types.CODE_ACTION_RESOLVE)
def code_action_resolve(ls: DevMatrixLanguageServer, action: types.CodeAction) -> types.CodeAction:
    """Compute the edit of the apply-all action when the client asks for it."""
    if action.kind == APPLY_ALL_KIND and action.edit is None:
        return resolve_apply_all(ls.tracker.index, ls.place, ls.edit_support, action)
    return action


@server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
async def cancel_progress(
    ls: DevMatrixLanguageServer, params: types.WorkDoneProgressCancelParams
) -> None:
    """Cancelling the run's progress bar cancels the run."""
    progress = ls.tracker.run_progress
    if progress is not None and progress.token == params.token and progress.on_cancel:
        progress.on_cancel()


@server.feature(types.SHUTDOWN)
async def shutdown(ls: DevMatrixLanguageServer, *args: Any) -> None:
    """Stop following events and stop the private backend with the editor."""
    await ls.disconnect()


def _resolves_edits(ls: DevMatrixLanguageServer) -> bool:
    document = ls.client_capabilities.text_document if ls.client_capabilities else None
    action = document.code_action if document else None
    support = action.resolve_support if action else None
    return bool(support and "edit" in support.properties)


# Commands register themselves on `server` when imported.
from devmatrix_lsp import commands  # noqa: E402, F401
