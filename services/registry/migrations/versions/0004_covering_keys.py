"""Metric and tag primary keys carry the value, so a filter's per-version probe never reads the table.

A search such as ``metrics.val_loss < 1.6`` ordered by time walks versions newest first and probes
``(version_id, key)`` for each; with the value in the key's index (``INCLUDE``) the probe is an index-only
scan. PostgreSQL only: SQLite has no INCLUDE, and its embedded catalogues are small.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("version_metrics", "version_tags")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, "
                   f"ADD CONSTRAINT {table}_pkey PRIMARY KEY (version_id, key) INCLUDE (value)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, "
                   f"ADD CONSTRAINT {table}_pkey PRIMARY KEY (version_id, key)")
