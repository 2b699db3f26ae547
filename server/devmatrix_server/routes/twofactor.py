"""/api/v1/auth/2fa: TOTP enrolment, verification (turns 2FA on) and disabling."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlmodel import Session

from devmatrix.storage.models import SecurityEvent, User
from devmatrix_server import accounts
from devmatrix_server.deps import SessionDep, SessionUser, SettingsDep
from devmatrix_server.errors import AuthenticationFailed, Conflict
from devmatrix_server.routes.auth import client_ip
from devmatrix_server.schemas.auth import RecoveryCodes, TotpCode, TotpDisable, TotpEnrolment
from devmatrix_server.security import passwords, totp

router = APIRouter(prefix="/api/v1/auth/2fa", tags=["auth"])


@router.post("/enrol", response_model=TotpEnrolment)
def enrol(caller: SessionUser, session: SessionDep, settings: SettingsDep) -> TotpEnrolment:
    """Start enrolment: a new secret as otpauth URI and QR image; 2FA is on after /verify."""
    user = caller.user
    if user.totp_enabled:
        raise Conflict("Two-factor authentication is already on.", "Disable it first to re-enrol.")
    enrolment = totp.enrol(settings, user.email)
    user.totp_secret_encrypted = enrolment.secret_encrypted
    session.add(user)
    session.commit()
    return TotpEnrolment(otpauth_uri=enrolment.otpauth_uri, qr_png_base64=enrolment.qr_png_base64)


@router.post("/verify", response_model=RecoveryCodes)
def verify(
    data: TotpCode,
    request: Request,
    caller: SessionUser,
    session: SessionDep,
    settings: SettingsDep,
) -> RecoveryCodes:
    """Confirm the first code from the app: 2FA turns on and ten recovery codes are shown once."""
    user = caller.user
    if user.totp_enabled:
        raise Conflict("Two-factor authentication is already on.")
    if not user.totp_secret_encrypted:
        raise Conflict("Nothing to verify yet.", "Call /api/v1/auth/2fa/enrol first.")
    advanced = totp.accept_code(settings, user.totp_secret_encrypted, data.code)
    if advanced is None:
        raise AuthenticationFailed("The code is wrong or expired.", "Enter the current code.")
    codes, hashes = totp.new_recovery_codes(settings)
    user.totp_secret_encrypted = advanced
    user.totp_enabled = True
    user.recovery_code_hashes = hashes
    _record_change(session, user, "2fa_enabled", client_ip(request))
    return RecoveryCodes(recovery_codes=codes)


@router.post("/disable", status_code=status.HTTP_204_NO_CONTENT)
def disable(
    data: TotpDisable,
    request: Request,
    caller: SessionUser,
    session: SessionDep,
    settings: SettingsDep,
) -> None:
    """Turn 2FA off; needs the password and a current (or recovery) code."""
    user = caller.user
    if not user.totp_enabled:
        raise Conflict("Two-factor authentication is not on.")
    if not passwords.verify_password(settings, user.password_hash, data.password):
        raise AuthenticationFailed("The password is wrong.")
    if not accounts.accept_second_factor(session, settings, user, data.code, ip=client_ip(request)):
        raise AuthenticationFailed("The code is wrong or expired.", "Enter the current code.")
    user.totp_enabled = False
    user.totp_secret_encrypted = None
    user.recovery_code_hashes = []
    _record_change(session, user, "2fa_disabled", client_ip(request))


def _record_change(session: Session, user: User, kind: str, ip: str | None) -> None:
    session.add(user)
    session.add(SecurityEvent(kind=kind, severity="info", user_id=user.id, ip=ip, detail={}))
    session.commit()
