"""Tables of the history service's schema (changed only through migrations)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
)

from lathe.kit.idempotency import request_log_table

metadata = MetaData()
request_log = request_log_table(metadata)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(36), primary_key=True, doc="Last segment of sessions/{session}."),
    Column("owner", String(200), nullable=False),
    Column("recipe", String(63), nullable=False),
    Column("training_job", String(200), nullable=False),
    Column("model_version", String(200), nullable=False),
    Column("snapshot", String(200), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("duration_nanos", BigInteger, nullable=False),
    Column("outcome", SmallInteger, nullable=False),
    Column("quality_min", Float, nullable=True),
    Column("quality_avg", Float, nullable=True),
    Column("quality_max", Float, nullable=True),
    # Ordering by quality puts sessions without one last in both directions: (quality_missing, quality_sort).
    Column("quality_missing", SmallInteger, nullable=False),
    Column("quality_sort", Float, nullable=False),
    Column("examples_generated", BigInteger, nullable=False),
    Column("examples_saved", BigInteger, nullable=False),
    Column("tokens_generated", BigInteger, nullable=False),
    Column("fine_tune_triggered", Boolean, nullable=False),
    Column("record", LargeBinary, nullable=False, doc="The Session as recorded (revision 1), never changed."),
    Column("content_sha256", String(64), nullable=False, doc="Digest of `record`, to recognise a redelivery."),
    Column("current", LargeBinary, nullable=False, doc="The Session with every correction applied."),
    Column("revision", Integer, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)
# Keyset pages seek on (sort key, session_id); owner-first twins serve a user's own list.
Index("ix_sessions_start", sessions.c.start_time, sessions.c.session_id)
Index("ix_sessions_owner_start", sessions.c.owner, sessions.c.start_time, sessions.c.session_id)
Index("ix_sessions_end", sessions.c.end_time, sessions.c.session_id)
Index("ix_sessions_owner_end", sessions.c.owner, sessions.c.end_time, sessions.c.session_id)
Index("ix_sessions_duration", sessions.c.duration_nanos, sessions.c.session_id)
Index("ix_sessions_owner_duration", sessions.c.owner, sessions.c.duration_nanos, sessions.c.session_id)
Index("ix_sessions_quality", sessions.c.quality_missing, sessions.c.quality_sort, sessions.c.session_id)
Index("ix_sessions_owner_quality", sessions.c.owner, sessions.c.quality_missing, sessions.c.quality_sort,
      sessions.c.session_id)

session_tags = Table(
    "session_tags",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("tag", String(63), primary_key=True),
    Column("count", BigInteger, nullable=False),
)
Index("ix_session_tags_tag", session_tags.c.tag, session_tags.c.session_id)

session_events = Table(
    "session_events",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("kind", SmallInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("revision", Integer, nullable=True, doc="The session revision a correction produced."),
    Column("payload", LargeBinary, nullable=False, doc="The SessionEvent as appended."),
)

lifecycle_events = Table(
    "lifecycle_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("kind", SmallInteger, nullable=False),
    Column("model", String(200), nullable=False),
    Column("alias", String(63), nullable=True),
    Column("alias_version", String(200), nullable=True, doc="The version an alias move points to ('' if removed)."),
    Column("deployment", String(200), nullable=True),
    Column("version_a", String(200), nullable=True, doc="A version the payload names."),
    Column("version_b", String(200), nullable=True, doc="The other version the payload names, if any."),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("source", String(200), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False, doc="The LifecycleEvent content as recorded."),
)
Index("ix_lifecycle_time", lifecycle_events.c.event_time, lifecycle_events.c.event_id)
Index("ix_lifecycle_model_time", lifecycle_events.c.model, lifecycle_events.c.event_time, lifecycle_events.c.event_id)
Index("ix_lifecycle_alias", lifecycle_events.c.model, lifecycle_events.c.alias, lifecycle_events.c.event_time,
      lifecycle_events.c.event_id)
Index("ix_lifecycle_version_a", lifecycle_events.c.version_a)
Index("ix_lifecycle_version_b", lifecycle_events.c.version_b)
Index("ix_lifecycle_deployment", lifecycle_events.c.deployment)
