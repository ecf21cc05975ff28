"""Job leases: which trainer instance runs a job's current attempt, and until when its claim holds.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Both nullable: a queued job has no runner yet, and a job that ended holds no lease. Jobs left RUNNING by a
    # trainer before this revision have neither, so any trainer may take them over at its next start.
    op.add_column("training_jobs", sa.Column("runner", sa.String(253), nullable=True))
    op.add_column("training_jobs", sa.Column("lease_expire_time", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite drops columns by copying the table: a batch does that on every backend alike.
    with op.batch_alter_table("training_jobs") as batch:
        batch.drop_column("lease_expire_time")
        batch.drop_column("runner")
