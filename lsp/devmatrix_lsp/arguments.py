"""Reading a command's single JSON-object argument, with errors that say what to send."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from devmatrix_lsp.backend import BackendRefused, BackendUnavailable

REQUEST_FAILED = -32803  # LSP: the request was valid but failed


class CommandFailed(JsonRpcException):
    """A valid command that could not be carried out (backend down, refused, ...)."""

    CODE = REQUEST_FAILED


def bad_arguments(command: str, problem: str, usage: str) -> JsonRpcInvalidParams:
    """An InvalidParams error naming the command, the problem and the expected shape."""
    return JsonRpcInvalidParams(message=f"{command}: {problem} Send {usage}.")


def argument(command: str, args: tuple[Any, ...], usage: str) -> dict[str, Any]:
    """The first argument, which must be a JSON object (absent means `{}`)."""
    if len(args) > 1:
        raise bad_arguments(command, f"takes one argument, got {len(args)}.", usage)
    if not args or args[0] is None:
        return {}
    if not isinstance(args[0], dict):
        raise bad_arguments(command, "the argument must be a JSON object.", usage)
    return args[0]


def ident(command: str, data: dict[str, Any], key: str, usage: str, *, required: bool) -> int:
    """A positive integer id (0 when optional and absent)."""
    value = data.get(key)
    if value is None and not required:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        what = "is missing" if value is None else f"must be a positive integer, not {value!r}"
        raise bad_arguments(command, f"`{key}` {what}.", usage)
    return value


def text(command: str, data: dict[str, Any], key: str, usage: str, *, required: bool) -> str:
    """A non-blank string ('' when optional and absent)."""
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        what = "is missing" if value is None else "must be a non-empty string"
        raise bad_arguments(command, f"`{key}` {what}.", usage)
    return value


def range_of(command: str, data: dict[str, Any], usage: str) -> types.Range:
    """An LSP Range from `data["range"]`."""
    raw = data.get("range")
    try:
        start, end = raw["start"], raw["end"]  # type: ignore[index]
        return types.Range(
            start=types.Position(line=int(start["line"]), character=int(start["character"])),
            end=types.Position(line=int(end["line"]), character=int(end["character"])),
        )
    except (KeyError, TypeError, ValueError):
        raise bad_arguments(command, "`range` is not an LSP range.", usage) from None


def as_rpc_error(command: str, error: Exception) -> JsonRpcException:
    """A backend failure as the JSON-RPC error the client gets."""
    if isinstance(error, BackendRefused) and error.status in (400, 404, 422):
        return JsonRpcInvalidParams(message=f"{command}: {error}")
    if isinstance(error, BackendRefused) and error.status >= 500:
        # The backend could not do it (model down, storage unavailable): not the caller's fault.
        return CommandFailed(message=f"{command}: the backend failed ({error.status}): {error}")
    if isinstance(error, BackendRefused):
        return CommandFailed(message=f"{command}: the backend refused: {error}")
    if isinstance(error, BackendUnavailable):
        return CommandFailed(message=f"{command}: {error}")
    return CommandFailed(message=f"{command}: {error}")
