"""Model versions with their searchable metrics, tags and hyperparameters; aliases; deployment records;
and the outbox that carries lifecycle events to the history service.

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

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Double = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(36), nullable=False, unique=True),
        sa.Column("model_uid", sa.String(36), sa.ForeignKey("models.uid", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("error", sa.LargeBinary(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("recipe", sa.String(100), nullable=False),
        sa.Column("architecture_family", sa.String(200), nullable=False),
        sa.Column("artifact_uri", sa.Text(), nullable=False),
        sa.Column("manifest_digest", sa.String(71), nullable=False),
        sa.Column("lineage_snapshot", sa.String(300), nullable=False),
        sa.Column("lineage_snapshot_digest", sa.String(71), nullable=False),
        sa.Column("lineage_training_job", sa.String(300), nullable=False),
        sa.Column("lineage_parent_version", sa.String(300), nullable=False),
        sa.Column("lineage_code_version", sa.String(300), nullable=False),
        sa.Column("lineage_base_model", sa.String(300), nullable=False),
        sa.Column("detail", sa.LargeBinary(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archive_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verification", sa.LargeBinary(), nullable=True),
        sa.Column("integrity_failed", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.UniqueConstraint("model_uid", "number", name="uq_model_versions_model_number"),
    )
    op.create_index("ix_model_versions_create_time", "model_versions", ["create_time", "id"])
    op.create_index("ix_model_versions_update_time", "model_versions", ["update_time", "id"])
    op.create_index("ix_model_versions_state", "model_versions", ["state"])
    for name, key_len, value in (
        ("version_metrics", 200, sa.Column("value", Double, nullable=False)),
        ("version_tags", 128, sa.Column("value", sa.String(1024), nullable=False)),
    ):
        op.create_table(
            name,
            sa.Column("version_id", BigId, sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
                      primary_key=True),
            sa.Column("key", sa.String(key_len), primary_key=True),
            value,
        )
        op.create_index(f"ix_{name}_key_value", name, ["key", "value", "version_id"])
    op.create_table(
        "version_params",
        sa.Column("version_id", BigId, sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(1), nullable=False),
        sa.Column("num_value", Double, nullable=True),
        sa.Column("str_value", sa.Text(), nullable=True),
    )
    op.create_index("ix_version_params_key_num", "version_params", ["key", "num_value", "version_id"])
    op.create_table(
        "aliases",
        sa.Column("model_uid", sa.String(36), sa.ForeignKey("models.uid", ondelete="CASCADE"), primary_key=True),
        sa.Column("alias", sa.String(63), primary_key=True),
        sa.Column("version_id", BigId, sa.ForeignKey("model_versions.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updater", sa.String(200), nullable=False),
    )
    op.create_index("ix_aliases_version_id", "aliases", ["version_id"])
    op.create_table(
        "version_deployments",
        sa.Column("version_id", BigId, sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("deployment", sa.String(300), primary_key=True),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("traffic_percent", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_version_deployments_state", "version_deployments", ["state"])
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
    for table in ("outbox", "version_deployments", "aliases", "version_params", "version_tags",
                  "version_metrics", "model_versions"):
        op.drop_table(table)
