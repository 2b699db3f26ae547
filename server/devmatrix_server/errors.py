"""Errors raised by the server's own logic; `problems.py` turns each into an HTTP problem detail."""

from __future__ import annotations

from devmatrix.errors import DevMatrixError


class AuthenticationFailed(DevMatrixError):
    """No valid credentials: missing, malformed, expired or revoked token, or a wrong password."""


class PermissionDenied(DevMatrixError):
    """The caller is known but their role or token scopes do not allow this."""


class InvalidInput(DevMatrixError):
    """A request is well-formed but breaks a rule (e.g. the password policy)."""


class Conflict(DevMatrixError):
    """The request clashes with existing state (a taken username, removing yourself as admin)."""


class AccountLocked(DevMatrixError):
    """Too many failed logins; the account is locked until `retry_after_seconds` have passed."""

    def __init__(self, message: str, hint: str | None = None, *, retry_after_seconds: int) -> None:
        super().__init__(message, hint)
        self.retry_after_seconds = retry_after_seconds


class TwoFactorRequired(AuthenticationFailed):
    """The password was right but the account needs a TOTP or recovery code too."""


class ServerStopping(DevMatrixError):
    """The server is shutting down and dropped work it had started for a request."""
