"""Persistence: SQLModel entities, engine and sessions, Alembic migrations."""
