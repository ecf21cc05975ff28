"""Tables of the deployer service's schema (changed only through migrations)."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
)

from lathe.kit.idempotency import request_log_table
from lathe.kit.outbox import outbox_table

metadata = MetaData()
request_log = request_log_table(metadata)
outbox = outbox_table(metadata)

deployments = Table(
    "deployments",
    metadata,
    Column("deployment_id", String(63), primary_key=True, doc="Last segment of deployments/{deployment_id}."),
    Column("uid", String(36), nullable=False, unique=True),
    Column("target", SmallInteger, nullable=False, doc="Deployment.Target value."),
    Column("state", SmallInteger, nullable=False, doc="Deployment.State value."),
    Column("model_version", String(300), nullable=False, doc="As requested (a version or an alias)."),
    Column("resolved_model_version", String(300), nullable=False, doc="What the current revision serves."),
    Column("current_revision", BigInteger, nullable=True),
    Column("pending_revision", BigInteger, nullable=True),
    Column("canary_revision", BigInteger, nullable=True),
    Column("creator", String(200), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("next_revision", BigInteger, nullable=False, doc="The number the next revision gets (never reused)."),
    Column("generation", Integer, nullable=False, doc="Bumped on every change; the etag derives from it."),
    Column("detail", LargeBinary, nullable=False, doc="The whole Deployment message, serialized."),
)

deployment_revisions = Table(
    "deployment_revisions",
    metadata,
    Column("deployment_id", String(63), primary_key=True),
    Column("number", BigInteger, primary_key=True),
    Column("state", SmallInteger, nullable=False, doc="DeploymentRevision.State value."),
    Column("trigger", SmallInteger, nullable=False),
    Column("model_version", String(300), nullable=False),
    Column("creator", String(200), nullable=False),
    Column("sha256_verified", Boolean, nullable=False),
    Column("health_outcome", SmallInteger, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("detail", LargeBinary, nullable=False, doc="The whole DeploymentRevision message, serialized."),
)
