"""Alembic environment of the corpus service."""

from lathe.kit.migrations import run_migrations_env
from services.corpus.adapters.tables import metadata

run_migrations_env(metadata, "corpus")
