"""Deployments, their revision history, and the outbox to the registry and history services.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("deployment_id", sa.String(63), primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False, unique=True),
        sa.Column("target", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("model_version", sa.String(300), nullable=False),
        sa.Column("resolved_model_version", sa.String(300), nullable=False),
        sa.Column("current_revision", sa.BigInteger(), nullable=True),
        sa.Column("pending_revision", sa.BigInteger(), nullable=True),
        sa.Column("canary_revision", sa.BigInteger(), nullable=True),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_revision", sa.BigInteger(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("detail", sa.LargeBinary(), nullable=False),
    )
    # Keyset pages ordered by time seek on (time, deployment_id).
    op.create_index("ix_deployments_create_time", "deployments", ["create_time", "deployment_id"])
    op.create_index("ix_deployments_update_time", "deployments", ["update_time", "deployment_id"])
    op.create_table(
        "deployment_revisions",
        sa.Column("deployment_id", sa.String(63), primary_key=True),
        sa.Column("number", sa.BigInteger(), primary_key=True),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("trigger", sa.SmallInteger(), nullable=False),
        sa.Column("model_version", sa.String(300), nullable=False),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("sha256_verified", sa.Boolean(), nullable=False),
        sa.Column("health_outcome", sa.SmallInteger(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_deployment_revisions_create_time", "deployment_revisions",
                    ["create_time", "deployment_id", "number"])
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_time", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_delivered_time", "outbox", ["delivered_time"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("deployment_revisions")
    op.drop_table("deployments")
