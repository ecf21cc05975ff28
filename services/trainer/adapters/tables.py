"""Tables of the trainer service's schema (changed only through migrations)."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

from lathe.kit.idempotency import request_log_table
from lathe.kit.outbox import outbox_table

metadata = MetaData()
request_log = request_log_table(metadata)
outbox = outbox_table(metadata)

training_jobs = Table(
    "training_jobs",
    metadata,
    Column("job_id", String(63), primary_key=True, doc="Last segment of trainingJobs/{job_id}."),
    Column("owner", String(200), nullable=False),
    Column("state", SmallInteger, nullable=False, doc="TrainingJob.State number."),
    Column("recipe", SmallInteger, nullable=False, doc="Recipe number."),
    Column("priority", Integer, nullable=False),
    Column("snapshot", String(200), nullable=False),
    Column("parent_model_version", String(300), nullable=False),
    Column("model_version", String(300), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=True),
    Column("end_time", DateTime(timezone=True), nullable=True),
    Column("attempt", Integer, nullable=False, doc="The current worker attempt (0 before the first start)."),
    Column("last_event_sequence", BigInteger, nullable=False),
    Column("resource", LargeBinary, nullable=False, doc="The serialized TrainingJob as last written."),
    Column("runner", String(253), nullable=True,
           doc="The trainer instance (trainer_instance) that runs or last ran the job's current attempt; NULL "
           "before the first claim. Not the owner, who is the user that created the job."),
    Column("lease_expire_time", DateTime(timezone=True), nullable=True,
           doc="Until when the runner's claim holds (renewed by its heartbeat); once past, another trainer may "
           "take the job over. NULL when released or the job has ended."),
)

training_events = Table(
    "training_events",
    metadata,
    Column("job_id", String(63), primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("event_type", String(40), nullable=False, doc="The payload field name, e.g. step_metrics."),
    Column("attempt", Integer, nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("payload", LargeBinary, nullable=False, doc="The serialized TrainingEvent."),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("job_id", String(63), primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("epoch", Float, nullable=False),
    Column("uri", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("best_value", Float, nullable=True, doc="The best metric's value at this step, if evaluated."),
    Column("is_best", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False, doc="Dropped by the retention policy."),
    Column("create_time", DateTime(timezone=True), nullable=False),
)
