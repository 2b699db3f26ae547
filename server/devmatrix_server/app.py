"""The FastAPI application factory: settings, database, error format and routes in one place."""

from __future__ import annotations

import ipaddress

from fastapi import FastAPI
from sqlmodel import Session

from devmatrix.config import Settings, get_settings
from devmatrix.errors import ConfigError
from devmatrix.storage.db import open_database
from devmatrix_server.accounts import seed_roles
from devmatrix_server.local import install_local_token
from devmatrix_server.observability import install_ops
from devmatrix_server.problems import PROBLEM_RESPONSES, install_problem_handlers
from devmatrix_server.routes import (
    acceptance,
    admin,
    atoms,
    auth,
    chat,
    conversations,
    execution,
    graph,
    health,
    plans,
    review,
    tokens,
    trace,
    twofactor,
    usage,
    users,
    validation,
)

ROUTERS = (health.router, auth.router, twofactor.router, tokens.router, users.router, admin.router)
DOMAIN_ROUTERS = (
    conversations.router,
    chat.router,
    plans.router,
    atoms.router,
    graph.router,
    validation.router,
    execution.router,
    review.router,
    acceptance.router,
    trace.router,
    usage.router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for `settings` (default: the environment's), with its database migrated."""
    settings = settings or get_settings()
    _check_allowlist(settings.admin_ip_allowlist)
    app = FastAPI(
        title="DevMatrix API",
        version="0.1.0",
        description="Plan, atomize, generate and validate code; review what the model is unsure of.",
        responses=PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.engine = open_database(settings.effective_database_url)
    with Session(app.state.engine) as session:
        seed_roles(session)
    install_problem_handlers(app)
    for router in ROUTERS + DOMAIN_ROUTERS:
        app.include_router(router)
    install_ops(app, settings)
    install_local_token(app, settings)
    return app


def _check_allowlist(entries: list[str]) -> None:
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"DEVMATRIX_ADMIN_IP_ALLOWLIST: {entry!r} is not an address or CIDR block.",
                'Use e.g. ["127.0.0.1", "10.0.0.0/8"].',
            ) from None
