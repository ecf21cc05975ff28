"""Alembic environment of the deployer service."""

from lathe.kit.migrations import run_migrations_env
from services.deployer.adapters.tables import metadata

run_migrations_env(metadata, "deployer")
