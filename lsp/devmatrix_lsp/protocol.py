"""JSON-RPC edges pygls leaves open: a request whose params do not fit its method gets an
InvalidParams answer (pygls would drop it, leaving the client waiting), a message that is not
JSON-RPC gets InvalidRequest, unparsable JSON gets ParseError; the server keeps running.

Text sync goes to the server's own line-based store (see documents.py) instead of pygls'
workspace, and the workDoneToken of executeCommand is made visible to the command.

`$/cancelRequest` reaches the work itself: pygls runs a built-in handler (executeCommand,
shutdown, ...) as a generator that hands the user's handler to a task of its own, and cancels
only the outer request, which answers RequestCancelled while the task (a chat reading its
answer) would go on.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Generator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
)
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

logger = logging.getLogger(__name__)
Handlers = Generator[Any, Any, Any]
COMMAND_PROGRESS_TOKEN: contextvars.ContextVar[types.ProgressToken | None] = contextvars.ContextVar(
    "command_progress_token", default=None
)


@dataclass(frozen=True)
class Refused:
    """A request that could not be read, to be answered with `error`."""

    id: Any
    error: JsonRpcException


class DevMatrixProtocol(LanguageServerProtocol):
    """pygls' protocol with proper errors for bad messages and a cheaper text sync."""

    _started: Any = None  # the future of the handler `_execute_handler` started last

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Read one message; a request that does not fit becomes `Refused` instead of vanishing."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "method" in data and data.get("id") is not None:
                detail = f"The params of {data['method']!r} do not fit the method: {exc.__cause__}"
                return Refused(data["id"], type(exc)(message=detail[:500]))
            raise

    def handle_message(self, message: Any) -> None:
        """Answer unreadable requests with their error, then hand the rest to pygls."""
        if isinstance(message, Refused):
            self._send_response(message.id, None, message.error.to_response_error())
            return
        if not hasattr(message, "jsonrpc"):  # a bare object, list or value: not JSON-RPC
            found = message.get("id") if isinstance(message, dict) else None
            msg_id = found if isinstance(found, int | str) else None
            error = JsonRpcInvalidRequest(message='The message is not JSON-RPC 2.0 ("jsonrpc").')
            self._send_error(msg_id, error)
            return
        super().handle_message(message)

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any = None,
        args: Any = None,
        kwargs: Any = None,
    ) -> None:
        """pygls' dispatch, remembering the future of what it started (see `_run_generator`)."""
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        self._started = self._request_futures.get(msg_id)

    def _run_generator(self, future: Any, *, gen: Handlers, result_future: Future[Any]) -> None:
        """pygls' next step of a generator handler; the step it starts (the user's handler)
        is cancelled with the request, so a cancelled command stops working."""
        self._started = None
        super()._run_generator(future, gen=gen, result_future=result_future)
        step = self._started
        if step is not None and step is not result_future and not step.done():

            def follow(request: Future[Any]) -> None:
                if request.cancelled():
                    step.cancel()

            result_future.add_done_callback(follow)

    def answer_parse_error(self, error: Exception) -> None:
        """Tell the client its last message was not JSON."""
        self._send_error(None, JsonRpcParseError(message=f"The message is not valid JSON: {error}"))

    def _send_error(self, msg_id: Any, error: JsonRpcException) -> None:
        # Written by hand: the converter drops `"id": null`, which JSON-RPC requires here.
        reply = {"code": error.code, "message": error.message}
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": reply})

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Handlers:
        """The server's own store keeps documents (see documents.py)."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Handlers:
        """The server's own store applies changes (see documents.py)."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Handlers:
        """The server's own store forgets documents (see documents.py)."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams) -> Handlers:
        """pygls' command dispatch, with the client's workDoneToken visible to the command."""
        COMMAND_PROGRESS_TOKEN.set(params.work_done_token)
        result = yield from super().lsp_workspace__execute_command(params)
        return result

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Handlers:
        """pygls' shutdown, but requests that end while our handler stops the backend no longer
        break its loop over the pending requests (it iterated the live dict)."""
        if (handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None


def is_parse_error(error: BaseException) -> bool:
    """Whether pygls' reader failed on the JSON itself."""
    return isinstance(error, json.JSONDecodeError | UnicodeDecodeError)
