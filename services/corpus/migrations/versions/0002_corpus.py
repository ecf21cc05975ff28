"""The corpus: texts, Q-A clusters (answers, questions), import batches, embeddings and snapshots.

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
        "texts",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("origin", sa.Integer(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("word_count", sa.BigInteger(), nullable=False),
        sa.Column("character_count", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("import_batch", sa.String(63), nullable=True),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_texts_create_time", "texts", ["create_time", "id"])
    op.create_table(
        "qa_clusters",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("external_id", sa.String(256), nullable=True, unique=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("origin", sa.Integer(), nullable=False),
        sa.Column("import_batch", sa.String(63), nullable=True),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("answer_count", sa.Integer(), nullable=False),
        sa.Column("question_count", sa.Integer(), nullable=False),
        sa.Column("cluster_key", sa.String(64), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_qa_clusters_create_time", "qa_clusters", ["create_time", "id"])
    op.create_table(
        "answers",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("cluster_id", sa.String(63), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("origin", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("cluster_id", "content_sha256", name="uq_answers_cluster_content"),
    )
    op.create_table(
        "questions",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("cluster_id", sa.String(63), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("origin", sa.Integer(), nullable=False),
        sa.Column("import_batch", sa.String(63), nullable=True),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("cluster_id", "content_sha256", name="uq_questions_cluster_content"),
    )
    op.create_index("ix_questions_create_time", "questions", ["create_time", "id"])
    op.create_table(
        "import_batches",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("root", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("format_explicit", sa.Boolean(), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("failure", sa.JSON(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.String(63), nullable=False),
        sa.Column("embedding_models", sa.JSON(), nullable=False),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
    )
    # Change detection reads the latest batch of every path under a root; workers pick pending batches.
    op.create_index("ix_import_batches_root_path", "import_batches", ["root", "path", "create_time"])
    op.create_index("ix_import_batches_state", "import_batches", ["state", "create_time"])
    op.create_table(
        "embeddings",
        sa.Column("entity", sa.String(200), primary_key=True),
        sa.Column("model", sa.String(100), primary_key=True),
        sa.Column("entity_type", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("artifact_uri", sa.Text(), nullable=False),
        sa.Column("artifact_sha256", sa.String(64), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("filter", sa.Text(), nullable=False),
        sa.Column("split_config", sa.JSON(), nullable=False),
        sa.Column("embedding_models", sa.JSON(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("member_list_sha256", sa.String(64), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_snapshots_create_time", "snapshots", ["create_time", "id"])
    op.create_table(
        "snapshot_members",
        sa.Column("snapshot_id", sa.String(63), primary_key=True),
        sa.Column("ordinal", sa.Integer(), primary_key=True),
        sa.Column("entity", sa.String(200), nullable=False),
        sa.Column("entity_type", sa.Integer(), nullable=False),
        sa.Column("member_sha256", sa.String(64), nullable=False),
        sa.Column("split", sa.Integer(), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=True),
    )


def downgrade() -> None:
    for table in ("snapshot_members", "snapshots", "embeddings", "import_batches", "questions", "answers",
                  "qa_clusters", "texts"):
        op.drop_table(table)
