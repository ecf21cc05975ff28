"""Alembic environment of the registry service."""

from lathe.kit.migrations import run_migrations_env
from services.registry.adapters.tables import metadata

run_migrations_env(metadata, "registry")
