"""Registered models.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("model_id", sa.String(63), primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False, unique=True),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latest_version_number", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
    )
    # Keyset pages ordered by time seek on (time, model_id).
    op.create_index("ix_models_create_time", "models", ["create_time", "model_id"])
    op.create_index("ix_models_update_time", "models", ["update_time", "model_id"])


def downgrade() -> None:
    op.drop_index("ix_models_update_time", table_name="models")
    op.drop_index("ix_models_create_time", table_name="models")
    op.drop_table("models")
