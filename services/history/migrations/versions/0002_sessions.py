"""Sessions, their tags and events, and model lifecycle events.

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

_SESSION_INDEXES = {
    "ix_sessions_start": ["start_time", "session_id"],
    "ix_sessions_owner_start": ["owner", "start_time", "session_id"],
    "ix_sessions_end": ["end_time", "session_id"],
    "ix_sessions_owner_end": ["owner", "end_time", "session_id"],
    "ix_sessions_duration": ["duration_nanos", "session_id"],
    "ix_sessions_owner_duration": ["owner", "duration_nanos", "session_id"],
    "ix_sessions_quality": ["quality_missing", "quality_sort", "session_id"],
    "ix_sessions_owner_quality": ["owner", "quality_missing", "quality_sort", "session_id"],
}
_LIFECYCLE_INDEXES = {
    "ix_lifecycle_time": ["event_time", "event_id"],
    "ix_lifecycle_model_time": ["model", "event_time", "event_id"],
    "ix_lifecycle_alias": ["model", "alias", "event_time", "event_id"],
    "ix_lifecycle_version_a": ["version_a"],
    "ix_lifecycle_version_b": ["version_b"],
    "ix_lifecycle_deployment": ["deployment"],
}


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("recipe", sa.String(63), nullable=False),
        sa.Column("training_job", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("snapshot", sa.String(200), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_nanos", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.SmallInteger(), nullable=False),
        sa.Column("quality_min", sa.Float(), nullable=True),
        sa.Column("quality_avg", sa.Float(), nullable=True),
        sa.Column("quality_max", sa.Float(), nullable=True),
        sa.Column("quality_missing", sa.SmallInteger(), nullable=False),
        sa.Column("quality_sort", sa.Float(), nullable=False),
        sa.Column("examples_generated", sa.BigInteger(), nullable=False),
        sa.Column("examples_saved", sa.BigInteger(), nullable=False),
        sa.Column("tokens_generated", sa.BigInteger(), nullable=False),
        sa.Column("fine_tune_triggered", sa.Boolean(), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("current", sa.LargeBinary(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    # Keyset pages seek on (sort key, session_id); the owner-first twins serve each user's own list.
    for name, columns in _SESSION_INDEXES.items():
        op.create_index(name, "sessions", columns)
    op.create_table(
        "session_tags",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("tag", sa.String(63), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_session_tags_tag", "session_tags", ["tag", "session_id"])
    op.create_table(
        "session_events",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("sequence", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "lifecycle_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("alias", sa.String(63), nullable=True),
        sa.Column("alias_version", sa.String(200), nullable=True),
        sa.Column("deployment", sa.String(200), nullable=True),
        sa.Column("version_a", sa.String(200), nullable=True),
        sa.Column("version_b", sa.String(200), nullable=True),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    for name, columns in _LIFECYCLE_INDEXES.items():
        op.create_index(name, "lifecycle_events", columns)


def downgrade() -> None:
    op.drop_table("lifecycle_events")
    op.drop_table("session_events")
    op.drop_index("ix_session_tags_tag", table_name="session_tags")
    op.drop_table("session_tags")
    op.drop_table("sessions")
