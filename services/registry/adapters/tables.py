"""Tables of the registry's schema (changed only through migrations)."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from lathe.kit.idempotency import request_log_table
from lathe.kit.outbox import outbox_table

metadata = MetaData()
request_log = request_log_table(metadata)
outbox = outbox_table(metadata)
# SQLite only auto-increments INTEGER PRIMARY KEY columns.
BigId = BigInteger().with_variant(Integer, "sqlite")

models = Table(
    "models",
    metadata,
    Column("model_id", String(63), primary_key=True, doc="Last segment of the name models/{model_id}."),
    Column("uid", String(36), nullable=False, unique=True, doc="Stable id that survives renames."),
    Column("display_name", String(256), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("tags", JSON, nullable=False, default=dict),
    Column("creator", String(200), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("latest_version_number", BigInteger, nullable=False, default=0,
           doc="The highest number ever given to a version; numbers are never reused."),
    Column("revision", Integer, nullable=False, default=1, doc="Bumped on every change; the etag derives from it."),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("uid", String(36), nullable=False, unique=True),
    Column("model_uid", String(36), ForeignKey("models.uid", ondelete="CASCADE"), nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("state", SmallInteger, nullable=False),
    Column("error", LargeBinary, nullable=True, doc="Serialized google.rpc.Status of a failed registration."),
    Column("description", Text, nullable=False),
    Column("creator", String(200), nullable=False),
    Column("recipe", String(100), nullable=False),
    Column("architecture_family", String(200), nullable=False),
    Column("artifact_uri", Text, nullable=False),
    Column("manifest_digest", String(71), nullable=False),
    Column("lineage_snapshot", String(300), nullable=False),
    Column("lineage_snapshot_digest", String(71), nullable=False),
    Column("lineage_training_job", String(300), nullable=False),
    Column("lineage_parent_version", String(300), nullable=False),
    Column("lineage_code_version", String(300), nullable=False),
    Column("lineage_base_model", String(300), nullable=False),
    Column("detail", LargeBinary, nullable=False,
           doc="The version as created (manifest, metrics, hyperparameters, …), a serialized ModelVersion."),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("archive_time", DateTime(timezone=True), nullable=True),
    Column("verification", LargeBinary, nullable=True, doc="Serialized Verification of the last check."),
    Column("integrity_failed", Boolean, nullable=False, default=False),
    Column("revision", Integer, nullable=False, default=1),
    UniqueConstraint("model_uid", "number", name="uq_model_versions_model_number"),
    Index("ix_model_versions_create_time", "create_time", "id"),
    Index("ix_model_versions_update_time", "update_time", "id"),
    Index("ix_model_versions_state", "state"),
)

version_metrics = Table(
    "version_metrics",
    metadata,
    Column("version_id", BigId, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Float(precision=53), nullable=False),
    Index("ix_version_metrics_key_value", "key", "value", "version_id"),
)

version_tags = Table(
    "version_tags",
    metadata,
    Column("version_id", BigId, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(1024), nullable=False),
    Index("ix_version_tags_key_value", "key", "value", "version_id"),
)

version_params = Table(
    "version_params",
    metadata,
    Column("version_id", BigId, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("kind", String(1), nullable=False, doc="n: number, s: string, b: boolean, o: other (not searchable)."),
    Column("num_value", Float(precision=53), nullable=True),
    Column("str_value", Text, nullable=True),
    Index("ix_version_params_key_num", "key", "num_value", "version_id"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("model_uid", String(36), ForeignKey("models.uid", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(63), primary_key=True),
    Column("version_id", BigId, ForeignKey("model_versions.id", ondelete="RESTRICT"), nullable=False, index=True),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("updater", String(200), nullable=False),
)

version_deployments = Table(
    "version_deployments",
    metadata,
    Column("version_id", BigId, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("deployment", String(300), primary_key=True),
    Column("target", String(100), nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("state", SmallInteger, nullable=False),
    Column("traffic_percent", Integer, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Index("ix_version_deployments_state", "state"),
)
