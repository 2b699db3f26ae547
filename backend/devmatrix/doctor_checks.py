"""The built-in doctor checks, one per part of the system."""

from __future__ import annotations

from devmatrix.config import Settings
from devmatrix.doctor import Check, register


@register
def check_settings(settings: Settings) -> Check:
    """Settings were read and validated (they would have raised otherwise)."""
    return Check("settings", settings.env, True, f"data folder {settings.data_dir}")
