"""Alembic environment of the trainer service."""

from lathe.kit.migrations import run_migrations_env
from services.trainer.adapters.tables import metadata

run_migrations_env(metadata, "trainer")
