"""Tables of the corpus service's schema (changed only through migrations)."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from lathe.kit.idempotency import request_log_table

metadata = MetaData()
request_log = request_log_table(metadata)

texts = Table(
    "texts",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("title", String(512), nullable=False),
    Column("content", Text, nullable=False),
    Column("source", String(512), nullable=False),
    Column("origin", Integer, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("word_count", BigInteger, nullable=False),
    Column("character_count", BigInteger, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("content_sha256", String(64), nullable=False, unique=True, doc="One text per normalised content."),
    Column("import_batch", String(63), nullable=True),
    Column("creator", String(200), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
)

qa_clusters = Table(
    "qa_clusters",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("title", String(512), nullable=False),
    Column("external_id", String(256), nullable=True, unique=True),
    Column("tags", JSON, nullable=False),
    Column("source", String(512), nullable=False),
    Column("origin", Integer, nullable=False),
    Column("import_batch", String(63), nullable=True),
    Column("creator", String(200), nullable=False),
    Column("answer_count", Integer, nullable=False),
    Column("question_count", Integer, nullable=False),
    Column("cluster_key", String(64), nullable=False, doc="sha256 of the answers' hashes in position order."),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)

answers = Table(
    "answers",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("cluster_id", String(63), nullable=False),
    Column("position", Integer, nullable=False),
    Column("content", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("origin", Integer, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    UniqueConstraint("cluster_id", "content_sha256", name="uq_answers_cluster_content"),
)

questions = Table(
    "questions",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("cluster_id", String(63), nullable=False),
    Column("content", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("source", String(512), nullable=False),
    Column("origin", Integer, nullable=False),
    Column("import_batch", String(63), nullable=True),
    Column("creator", String(200), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    UniqueConstraint("cluster_id", "content_sha256", name="uq_questions_cluster_content"),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("root", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("format", Integer, nullable=False),
    Column("format_explicit", Boolean, nullable=False, doc="The scan named the format (else re-detected)."),
    Column("file_sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("state", Integer, nullable=False),
    Column("history", JSON, nullable=False, doc="[{state, time, attempt, message}] oldest first."),
    Column("error", JSON, nullable=True, doc="{code, message, reason} when failed."),
    Column("failure", JSON, nullable=True, doc="{path, line, column, reason, reason_code} when failed."),
    Column("results", JSON, nullable=False),
    Column("attempt_count", Integer, nullable=False),
    Column("scan_id", String(63), nullable=False),
    Column("embedding_models", JSON, nullable=False),
    Column("creator", String(200), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=True),
    Column("end_time", DateTime(timezone=True), nullable=True),
)

embeddings = Table(
    "embeddings",
    metadata,
    Column("entity", String(200), primary_key=True, doc="The embedded entity's resource name."),
    Column("model", String(100), primary_key=True, doc="The embedding model's id."),
    Column("entity_type", Integer, nullable=False),
    Column("dimension", Integer, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("artifact_uri", Text, nullable=False, doc="A float32 .npy array of shape (rows, dimension)."),
    Column("artifact_sha256", String(64), nullable=False),
    Column("row_index", Integer, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("display_name", String(128), nullable=False),
    Column("description", Text, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("filter", Text, nullable=False),
    Column("split_config", JSON, nullable=False),
    Column("embedding_models", JSON, nullable=False),
    Column("state", Integer, nullable=False),
    Column("error", JSON, nullable=True),
    Column("content_sha256", String(64), nullable=False),
    Column("member_list_sha256", String(64), nullable=False),
    Column("counts", JSON, nullable=False),
    Column("creator", String(200), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)

snapshot_members = Table(
    "snapshot_members",
    metadata,
    Column("snapshot_id", String(63), primary_key=True),
    Column("ordinal", Integer, primary_key=True, doc="Position in the stream order of ReadSnapshot."),
    Column("entity", String(200), nullable=False),
    Column("entity_type", Integer, nullable=False),
    Column("member_sha256", String(64), nullable=False),
    Column("split", Integer, nullable=False),
    Column("spans", JSON, nullable=True, doc="[[split, start, end]] for texts divided by a tail split."),
)
