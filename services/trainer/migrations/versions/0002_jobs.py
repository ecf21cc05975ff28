"""Training jobs, their event log, checkpoints, and the outbox to the registry and history.

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
        "training_jobs",
        sa.Column("job_id", sa.String(63), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("recipe", sa.SmallInteger(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.String(200), nullable=False),
        sa.Column("parent_model_version", sa.String(300), nullable=False),
        sa.Column("model_version", sa.String(300), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("last_event_sequence", sa.BigInteger(), nullable=False),
        sa.Column("resource", sa.LargeBinary(), nullable=False),
    )
    # Keyset pages by creation, per owner, and the scheduler's scan of queued and running jobs.
    op.create_index("ix_training_jobs_create_time", "training_jobs", ["create_time", "job_id"])
    op.create_index("ix_training_jobs_owner", "training_jobs", ["owner", "create_time", "job_id"])
    op.create_index("ix_training_jobs_state", "training_jobs", ["state", "priority", "create_time"])
    op.create_table(
        "training_events",
        sa.Column("job_id", sa.String(63), primary_key=True),
        sa.Column("sequence", sa.BigInteger(), primary_key=True),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("job_id", sa.String(63), primary_key=True),
        sa.Column("step", sa.BigInteger(), primary_key=True),
        sa.Column("epoch", sa.Float(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("best_value", sa.Float(), nullable=True),
        sa.Column("is_best", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
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
    op.drop_index("ix_outbox_delivered_time", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("checkpoints")
    op.drop_table("training_events")
    op.drop_index("ix_training_jobs_state", table_name="training_jobs")
    op.drop_index("ix_training_jobs_owner", table_name="training_jobs")
    op.drop_index("ix_training_jobs_create_time", table_name="training_jobs")
    op.drop_table("training_jobs")
