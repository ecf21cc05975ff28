"""Rules of recorded sessions: names, what a valid record is, its content digest, and corrections."""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2
from google.rpc import status_pb2

from lathe.history.v1 import session_event_pb2, session_pb2
from lathe.kit.errors import FieldViolation, InvalidArgument
from services.history.domain.filters import (
    COMPARISONS,
    EQUALITY,
    RANGE,
    FieldSpec,
    as_bool,
    as_enum,
    as_number,
    as_string,
    as_timestamp,
)

Session = session_pb2.Session
SessionEvent = session_event_pb2.SessionEvent

UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SESSION_NAME_RE = re.compile(r"^sessions/(?P<session>[^/]+)$")
RECIPE_RE = re.compile(r"^[a-z0-9-]{1,63}$")
METRIC_RE = re.compile(r"^[A-Za-z0-9_./-]{1,128}$")
ARTIFACT_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
TRAINING_JOB_RE = re.compile(r"^trainingJobs/[^/\s]{1,128}$")
MODEL_VERSION_RE = re.compile(r"^models/[^/\s]{1,63}/versions/[^/\s]{1,63}$")
SNAPSHOT_RE = re.compile(r"^snapshots/[^/\s]{1,128}$")
MAX_OWNER = 200
MAX_CONFIG_BYTES = 64 * 1024
MAX_PERFORMANCES = 100
MAX_TAGS = 1000
MAX_TAG = 63
MAX_STORAGE_CHOICES = 32
MAX_METRICS = 1000
MAX_MODEL_ID = 256
MAX_URI = 2048
MAX_ERROR_MESSAGE = 8192
MAX_ANNOTATION = 4096
MAX_ANNOTATION_LABELS = 32
MAX_REASON = 1024
# Timestamps the database and Python can both hold.
MIN_SECONDS = int(datetime(1, 1, 2, tzinfo=UTC).timestamp())
MAX_SECONDS = int(datetime(9999, 12, 30, tzinfo=UTC).timestamp())
# Fields a correction may not replace: identity, ownership, the job that ran it, and output-only fields.
UNCORRECTABLE = frozenset({"name", "owner", "training_job", "create_time", "update_time", "revision"})

OUTCOMES = {"SUCCEEDED": Session.OUTCOME_SUCCEEDED, "FAILED": Session.OUTCOME_FAILED,
            "CANCELLED": Session.OUTCOME_CANCELLED}

# The filter language of ListSessions / ExportSessions (see ListSessionsRequest.filter).
SESSION_FILTER: dict[str, FieldSpec] = {
    "owner": FieldSpec(("=",), as_string(MAX_OWNER)),
    "start_time": FieldSpec(RANGE, as_timestamp),
    "end_time": FieldSpec(RANGE, as_timestamp),
    "outcome": FieldSpec(EQUALITY, as_enum(OUTCOMES, "OUTCOME_")),
    "recipe": FieldSpec(EQUALITY, as_string(63)),
    "tags": FieldSpec((":",), as_string(MAX_TAG)),
    "quality.min_score": FieldSpec(COMPARISONS, as_number),
    "quality.avg_score": FieldSpec(COMPARISONS, as_number),
    "quality.max_score": FieldSpec(COMPARISONS, as_number),
    "fine_tune.triggered": FieldSpec(EQUALITY, as_bool),
    "training_job": FieldSpec(("=",), as_string(200)),
    "model_version": FieldSpec(("=",), as_string(200)),
    "snapshot": FieldSpec(("=",), as_string(200)),
}
SESSION_ORDERINGS = ("start_time", "end_time", "duration", "quality.avg_score")
DEFAULT_SESSION_ORDER = "start_time desc"

EVENT_KINDS = {"ANNOTATION": SessionEvent.KIND_ANNOTATION, "CORRECTION": SessionEvent.KIND_CORRECTION}
SESSION_EVENT_FILTER: dict[str, FieldSpec] = {
    "kind": FieldSpec(EQUALITY, as_enum(EVENT_KINDS, "KIND_")),
    "actor": FieldSpec(("=",), as_string(MAX_OWNER)),
    "event_time": FieldSpec(RANGE, as_timestamp),
}


def new_session_id() -> str:
    """A fresh random session id."""
    return str(uuid.uuid4())


def validate_uuid4(value: str, field: str) -> str:
    """``value`` if it is a version 4 UUID in lower-case canonical form; INVALID_ARGUMENT otherwise."""
    if not UUID4_RE.match(value):
        raise InvalidArgument.for_field(
            field, f"must be a version 4 UUID in lower-case canonical form (got {value[:64]!r})", reason="INVALID_ID"
        )
    return value


def parse_session_name(name: str, field: str = "name") -> str:
    """The session id of ``sessions/{session}``; INVALID_ARGUMENT naming ``field`` if malformed."""
    match = SESSION_NAME_RE.match(name)
    if not match:
        raise InvalidArgument.for_field(field, f"must have the form 'sessions/{{session}}' (got {name[:100]!r})",
                                        reason="INVALID_NAME")
    return validate_uuid4(match["session"], field)


def session_name(session_id: str) -> str:
    """The resource name of a session."""
    return f"sessions/{session_id}"


def validate_time_zone(name: str, field: str = "time_zone") -> str:
    """The IANA zone name in force (``UTC`` for empty); INVALID_ARGUMENT if unknown."""
    if not name:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument.for_field(field, f"{name[:64]!r} is not an IANA time zone name such as Europe/Paris",
                                        reason="INVALID_TIME_ZONE") from None
    return name


def timestamp_violation(ts: timestamp_pb2.Timestamp, field: str) -> FieldViolation | None:
    """A violation if ``ts`` is outside the years 1-9999 or has invalid nanos."""
    if not MIN_SECONDS <= ts.seconds <= MAX_SECONDS or not 0 <= ts.nanos < 1_000_000_000:
        return FieldViolation(field, "must be a valid timestamp between the years 0001 and 9999")
    return None


def to_datetime(ts: timestamp_pb2.Timestamp, field: str) -> datetime:
    """A UTC datetime from a timestamp; INVALID_ARGUMENT naming ``field`` when out of range."""
    violation = timestamp_violation(ts, field)
    if violation:
        raise InvalidArgument.for_field(field, violation.description, reason="INVALID_TIME")
    return ts.ToDatetime(tzinfo=UTC)


def duration_nanos(duration: duration_pb2.Duration) -> int:
    """A duration in nanoseconds."""
    return duration.seconds * 1_000_000_000 + duration.nanos


def timestamp_nanos(ts: timestamp_pb2.Timestamp) -> int:
    """A timestamp in nanoseconds since the epoch."""
    return ts.seconds * 1_000_000_000 + ts.nanos


def _resource(value: str, pattern: re.Pattern[str], form: str, field: str, out: list[FieldViolation]) -> None:
    if value and not pattern.match(value):
        out.append(FieldViolation(field, f"must have the form '{form}' (got {value[:100]!r})"))


def _counts(counts: session_pb2.Session.Counts, field: str, out: list[FieldViolation]) -> None:
    for name in ("requested", "succeeded", "failed"):
        if getattr(counts, name) < 0:
            out.append(FieldViolation(f"{field}.{name}", "must not be negative"))


def _finite(value: float) -> bool:
    return math.isfinite(value)


def session_violations(s: Session, prefix: str = "session") -> list[FieldViolation]:
    """Everything wrong with a session record, as field violations under ``prefix``."""
    out: list[FieldViolation] = []
    p = prefix
    if len(s.owner) > MAX_OWNER or any(ord(c) < 32 for c in s.owner):
        out.append(FieldViolation(f"{p}.owner", f"must be at most {MAX_OWNER} printable characters"))
    _resource(s.training_job, TRAINING_JOB_RE, "trainingJobs/{training_job}", f"{p}.training_job", out)
    _resource(s.model_version, MODEL_VERSION_RE, "models/{model}/versions/{version}", f"{p}.model_version", out)
    _resource(s.snapshot, SNAPSHOT_RE, "snapshots/{snapshot}", f"{p}.snapshot", out)
    if not s.recipe:
        out.append(FieldViolation(f"{p}.recipe", "is required"))
    elif not RECIPE_RE.match(s.recipe):
        out.append(FieldViolation(f"{p}.recipe", "must be 1-63 characters of [a-z0-9-]"))
    if s.HasField("config") and s.config.ByteSize() > MAX_CONFIG_BYTES:
        out.append(FieldViolation(f"{p}.config", f"must be at most {MAX_CONFIG_BYTES} bytes once serialised"))
    times_ok = True
    for name in ("start_time", "end_time"):
        if not s.HasField(name):
            out.append(FieldViolation(f"{p}.{name}", "is required"))
            times_ok = False
        elif (violation := timestamp_violation(getattr(s, name), f"{p}.{name}")) is not None:
            out.append(violation)
            times_ok = False
    if times_ok and timestamp_nanos(s.end_time) < timestamp_nanos(s.start_time):
        out.append(FieldViolation(f"{p}.end_time", "must not be before start_time"))
    if s.HasField("duration"):
        d = s.duration
        if d.seconds < 0 or d.nanos < 0 or d.nanos >= 1_000_000_000 or d.seconds > 10**11:
            out.append(FieldViolation(f"{p}.duration", "must be a non-negative duration"))
    if s.outcome not in OUTCOMES.values():
        out.append(FieldViolation(f"{p}.outcome", "is required: SUCCEEDED, FAILED or CANCELLED"))
    has_error = s.HasField("error") and s.error != status_pb2.Status()
    if s.outcome == Session.OUTCOME_FAILED and (not has_error or s.error.code == 0):
        out.append(FieldViolation(f"{p}.error", "is required (with a non-zero code) when outcome is FAILED"))
    elif s.outcome != Session.OUTCOME_FAILED and has_error:
        out.append(FieldViolation(f"{p}.error", "must be empty unless outcome is FAILED"))
    if has_error and len(s.error.message) > MAX_ERROR_MESSAGE:
        out.append(FieldViolation(f"{p}.error.message", f"must be at most {MAX_ERROR_MESSAGE} characters"))
    if s.HasField("example_counts"):
        _counts(s.example_counts, f"{p}.example_counts", out)
    if s.HasField("token_counts"):
        _counts(s.token_counts, f"{p}.token_counts", out)
    for name in ("training_examples_before", "training_examples_after"):
        if getattr(s, name) < 0:
            out.append(FieldViolation(f"{p}.{name}", "must not be negative"))
    if s.HasField("fine_tune"):
        ft = s.fine_tune
        if ft.threshold < 0:
            out.append(FieldViolation(f"{p}.fine_tune.threshold", "must not be negative"))
        if ft.training_job and not ft.triggered:
            out.append(FieldViolation(f"{p}.fine_tune.training_job", "must be empty when triggered is false"))
        _resource(ft.training_job, TRAINING_JOB_RE, "trainingJobs/{training_job}", f"{p}.fine_tune.training_job",
                  out)
    if s.HasField("quality"):
        q = s.quality
        if not all(_finite(v) for v in (q.min_score, q.avg_score, q.max_score)):
            out.append(FieldViolation(f"{p}.quality", "scores must be finite numbers"))
        elif not q.min_score <= q.avg_score <= q.max_score:
            out.append(FieldViolation(f"{p}.quality", "must satisfy min_score <= avg_score <= max_score"))
        if q.sample_count <= 0:
            out.append(FieldViolation(f"{p}.quality.sample_count", "must be positive when quality is set"))
    if len(s.model_performances) > MAX_PERFORMANCES:
        out.append(FieldViolation(f"{p}.model_performances", f"must have at most {MAX_PERFORMANCES} entries"))
    seen: set[str] = set()
    for i, perf in enumerate(s.model_performances):
        f = f"{p}.model_performances[{i}]"
        if not perf.model or len(perf.model) > MAX_MODEL_ID:
            out.append(FieldViolation(f"{f}.model", f"is required, at most {MAX_MODEL_ID} characters"))
        elif perf.model in seen:
            out.append(FieldViolation(f"{f}.model", f"{perf.model!r} appears twice"))
        seen.add(perf.model)
        if perf.wins < 0:
            out.append(FieldViolation(f"{f}.wins", "must not be negative"))
        if perf.sample_count < 0:
            out.append(FieldViolation(f"{f}.sample_count", "must not be negative"))
        if not _finite(perf.avg_quality):
            out.append(FieldViolation(f"{f}.avg_quality", "must be a finite number"))
    if s.best_model and s.best_model not in seen:
        out.append(FieldViolation(f"{p}.best_model", "must be the model of one of model_performances"))
    if len(s.tag_counts) > MAX_TAGS:
        out.append(FieldViolation(f"{p}.tag_counts", f"must have at most {MAX_TAGS} tags"))
    for tag, count in s.tag_counts.items():
        if not 1 <= len(tag) <= MAX_TAG or any(ord(c) < 32 for c in tag):
            out.append(FieldViolation(f"{p}.tag_counts[{tag[:64]!r}]", f"tag must be 1-{MAX_TAG} printable characters"))
        if count < 0:
            out.append(FieldViolation(f"{p}.tag_counts[{tag[:64]!r}]", "count must not be negative"))
    if len(s.storage_choices) > MAX_STORAGE_CHOICES:
        out.append(FieldViolation(f"{p}.storage_choices", f"must have at most {MAX_STORAGE_CHOICES} entries"))
    for i, choice in enumerate(s.storage_choices):
        f = f"{p}.storage_choices[{i}]"
        if not ARTIFACT_RE.match(choice.artifact):
            out.append(FieldViolation(f"{f}.artifact", "is required: a short lower-case word such as 'examples'"))
        if choice.mode not in (Session.StorageChoice.MODE_IN_MEMORY, Session.StorageChoice.MODE_SAVED):
            out.append(FieldViolation(f"{f}.mode", "is required: MODE_IN_MEMORY or MODE_SAVED"))
        if choice.mode == Session.StorageChoice.MODE_IN_MEMORY and choice.uri:
            out.append(FieldViolation(f"{f}.uri", "must be empty when mode is MODE_IN_MEMORY"))
        if len(choice.uri) > MAX_URI:
            out.append(FieldViolation(f"{f}.uri", f"must be at most {MAX_URI} characters"))
        if choice.example_count < 0:
            out.append(FieldViolation(f"{f}.example_count", "must not be negative"))
    if len(s.metrics) > MAX_METRICS:
        out.append(FieldViolation(f"{p}.metrics", f"must have at most {MAX_METRICS} entries"))
    for metric in s.metrics:
        if not METRIC_RE.match(metric):
            out.append(FieldViolation(f"{p}.metrics[{metric[:64]!r}]",
                                      "name must be 1-128 characters of [A-Za-z0-9_./-]"))
    return out


def raise_violations(violations: list[FieldViolation]) -> None:
    """INVALID_ARGUMENT listing every violation, if there are any."""
    if violations:
        raise InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in violations[:10]),
                              reason="INVALID_FIELD", field_violations=violations)


def normalize_session(s: Session, *, owner: str) -> Session:
    """The record as stored: owner resolved, output-only fields cleared, duration defaulted to the elapsed time.

    The caller validated ``s`` first.
    """
    record = Session()
    record.CopyFrom(s)
    for name in ("name", "create_time", "update_time", "revision"):
        record.ClearField(name)
    record.owner = owner
    if not record.HasField("duration"):
        elapsed = timestamp_nanos(record.end_time) - timestamp_nanos(record.start_time)
        record.duration.FromNanoseconds(elapsed)
    if record.HasField("error") and record.error == status_pb2.Status():
        record.ClearField("error")
    return record


def content_sha256(record: Session) -> str:
    """A digest of the record's content (deterministic serialisation), to tell a redelivery from a clash."""
    return hashlib.sha256(record.SerializeToString(deterministic=True)).hexdigest()


@dataclass(frozen=True)
class Projection:
    """The values of a session that lists, filters, orders and aggregates read, flattened into columns."""

    owner: str
    recipe: str
    training_job: str
    model_version: str
    snapshot: str
    start_time: datetime
    end_time: datetime
    duration_nanos: int
    outcome: int
    quality_min: float | None
    quality_avg: float | None
    quality_max: float | None
    examples_generated: int
    examples_saved: int
    tokens_generated: int
    fine_tune_triggered: bool
    tag_counts: Mapping[str, int]


def project(record: Session) -> Projection:
    """Flatten a (valid, normalised) session into the values stored in indexed columns."""
    q = record.quality if record.HasField("quality") else None
    saved = sum(c.example_count for c in record.storage_choices if c.mode == Session.StorageChoice.MODE_SAVED)
    return Projection(
        owner=record.owner, recipe=record.recipe, training_job=record.training_job,
        model_version=record.model_version, snapshot=record.snapshot,
        start_time=record.start_time.ToDatetime(tzinfo=UTC), end_time=record.end_time.ToDatetime(tzinfo=UTC),
        duration_nanos=duration_nanos(record.duration), outcome=record.outcome,
        quality_min=q.min_score if q else None, quality_avg=q.avg_score if q else None,
        quality_max=q.max_score if q else None,
        examples_generated=record.example_counts.succeeded, examples_saved=saved,
        tokens_generated=record.token_counts.succeeded,
        fine_tune_triggered=record.fine_tune.triggered, tag_counts=dict(record.tag_counts),
    )


def validate_event(event: SessionEvent, prefix: str = "session_event") -> list[str]:
    """Check an event to append; returns the correction's mask paths (empty for an annotation)."""
    case = event.WhichOneof("payload")
    if case is None:
        raise InvalidArgument.for_field(prefix, "must set exactly one payload: annotation or correction")
    if case == "annotation":
        a = event.annotation
        violations = []
        if not a.text.strip():
            violations.append(FieldViolation(f"{prefix}.annotation.text", "is required"))
        elif len(a.text) > MAX_ANNOTATION:
            violations.append(FieldViolation(f"{prefix}.annotation.text",
                                             f"must be at most {MAX_ANNOTATION} characters"))
        if len(a.labels) > MAX_ANNOTATION_LABELS:
            violations.append(FieldViolation(f"{prefix}.annotation.labels",
                                             f"must have at most {MAX_ANNOTATION_LABELS} entries"))
        for key, value in a.labels.items():
            if not 1 <= len(key) <= 63 or len(value) > 256:
                violations.append(FieldViolation(f"{prefix}.annotation.labels[{key[:64]!r}]",
                                                 "key must be 1-63 characters, value at most 256"))
        raise_violations(violations)
        return []
    c = event.correction
    paths = list(c.update_mask.paths)
    field = f"{prefix}.correction.update_mask"
    if not paths:
        raise InvalidArgument.for_field(field, "must name at least one field to correct")
    if not c.update_mask.IsValidForDescriptor(Session.DESCRIPTOR):
        raise InvalidArgument.for_field(field, f"names a field that Session does not have: {', '.join(paths)}")
    for path in paths:
        if path.split(".")[0] in UNCORRECTABLE:
            raise InvalidArgument.for_field(field, f"{path!r} cannot be corrected; uncorrectable: "
                                            f"{', '.join(sorted(UNCORRECTABLE))}")
    if not c.reason.strip():
        raise InvalidArgument.for_field(f"{prefix}.correction.reason", "is required")
    if len(c.reason) > MAX_REASON:
        raise InvalidArgument.for_field(f"{prefix}.correction.reason", f"must be at most {MAX_REASON} characters")
    return paths


def apply_correction(current: Session, correction: session_event_pb2.SessionEvent.Correction,
                     prefix: str = "session_event.correction.session") -> Session:
    """``current`` with the fields named by the correction's mask replaced; validated like a new record."""
    corrected = Session()
    corrected.CopyFrom(current)
    mask = field_mask_pb2.FieldMask(paths=list(correction.update_mask.paths))
    mask.MergeMessage(correction.session, corrected, replace_message_field=True, replace_repeated_field=True)
    if not corrected.HasField("duration"):
        elapsed = max(0, timestamp_nanos(corrected.end_time) - timestamp_nanos(corrected.start_time))
        corrected.duration.FromNanoseconds(elapsed)
    raise_violations(session_violations(corrected, prefix))
    if corrected.HasField("error") and corrected.error == status_pb2.Status():
        corrected.ClearField("error")
    return corrected

