"""Tables of the registry's schema (changed only through migrations)."""

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

from lathe.kit.idempotency import request_log_table

metadata = MetaData()
request_log = request_log_table(metadata)

models = Table(
    "models",
    metadata,
    Column("model_id", String(63), primary_key=True, doc="Last segment of the name models/{model_id}."),
    Column("uid", String(36), nullable=False, unique=True, doc="Stable id that survives renames."),
    Column("display_name", String(256), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("tags", JSON, nullable=False, default=dict),
    Column("creator", String(200), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False, ),
    Column("update_time", DateTime(timezone=True), nullable=False, ),
    Column("latest_version_number", BigInteger, nullable=False, default=0),
    Column("revision", Integer, nullable=False, default=1, doc="Bumped on every change; the etag derives from it."),
)
