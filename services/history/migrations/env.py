"""Alembic environment of the history service."""

from lathe.kit.migrations import run_migrations_env
from services.history.adapters.tables import metadata

run_migrations_env(metadata, "history")
