"""The FastAPI application factory: settings, database, error format and routes in one place."""

from __future__ import annotations

from fastapi import FastAPI

from devmatrix.config import Settings, get_settings
from devmatrix.storage.db import open_database
from devmatrix_server.routes import health


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for `settings` (default: the environment's), with its database migrated."""
    settings = settings or get_settings()
    app = FastAPI(
        title="DevMatrix API",
        version="0.1.0",
        description="Plan, atomize, generate and validate code; review what the model is unsure of.",
    )
    app.state.settings = settings
    app.state.engine = open_database(settings.effective_database_url)
    app.include_router(health.router)
    return app
