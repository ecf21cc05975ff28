"""Rules of model lifecycle events: names, what a valid event is, and alias assignments built from moves."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lathe.history.v1 import lifecycle_event_pb2
from lathe.kit.errors import FieldViolation, InvalidArgument
from services.history.domain.filters import EQUALITY, RANGE, FieldSpec, as_enum, as_string, as_timestamp
from services.history.domain.sessions import raise_violations, timestamp_violation, validate_uuid4

LifecycleEvent = lifecycle_event_pb2.LifecycleEvent

MODEL_RE = re.compile(r"^models/(?P<model>[a-z]([a-z0-9._-]{0,61}[a-z0-9])?)$")
VERSION_RE = re.compile(r"^(?P<model>models/[^/\s]{1,63})/versions/[^/\s]{1,63}$")
DEPLOYMENT_RE = re.compile(r"^deployments/[^/\s]{1,128}$")
TRAINING_JOB_RE = re.compile(r"^trainingJobs/[^/\s]{1,128}$")
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
EVENT_NAME_RE = re.compile(r"^lifecycleEvents/(?P<id>[^/]+)$")
FUTURE_SKEW = timedelta(minutes=5)
MAX_ACTOR = 200
MAX_REASON = 1024

KINDS = {
    "VERSION_REGISTERED": LifecycleEvent.KIND_VERSION_REGISTERED,
    "ALIAS_MOVED": LifecycleEvent.KIND_ALIAS_MOVED,
    "DEPLOYED": LifecycleEvent.KIND_DEPLOYED,
    "ROLLED_BACK": LifecycleEvent.KIND_ROLLED_BACK,
    "DELETED": LifecycleEvent.KIND_DELETED,
}
KIND_OF_CASE = {
    "version_registered": LifecycleEvent.KIND_VERSION_REGISTERED,
    "alias_moved": LifecycleEvent.KIND_ALIAS_MOVED,
    "deployed": LifecycleEvent.KIND_DEPLOYED,
    "rolled_back": LifecycleEvent.KIND_ROLLED_BACK,
    "deleted": LifecycleEvent.KIND_DELETED,
}

LIFECYCLE_FILTER: dict[str, FieldSpec] = {
    "model": FieldSpec(("=",), as_string(200)),
    "model_version": FieldSpec(("=",), as_string(200)),
    "alias": FieldSpec(("=",), as_string(63)),
    "kind": FieldSpec(EQUALITY, as_enum(KINDS, "KIND_")),
    "deployment": FieldSpec(("=",), as_string(200)),
    "event_time": FieldSpec(RANGE, as_timestamp),
    "actor": FieldSpec(("=",), as_string(MAX_ACTOR)),
    "source": FieldSpec(("=",), as_string(MAX_ACTOR)),
}


def parse_event_name(name: str, field: str = "name") -> str:
    """The event id of ``lifecycleEvents/{lifecycle_event}``; INVALID_ARGUMENT naming ``field`` if malformed."""
    match = EVENT_NAME_RE.match(name)
    if not match:
        raise InvalidArgument.for_field(field, f"must have the form 'lifecycleEvents/{{lifecycle_event}}' "
                                        f"(got {name[:100]!r})", reason="INVALID_NAME")
    return validate_uuid4(match["id"], field)


def validate_model(model: str, field: str = "model") -> str:
    """``model`` if it is a model name ``models/{model}``; INVALID_ARGUMENT otherwise."""
    if not MODEL_RE.match(model):
        raise InvalidArgument.for_field(field, f"must have the form 'models/{{model}}' (got {model[:100]!r})",
                                        reason="INVALID_NAME")
    return model


def validate_alias(alias: str, field: str = "alias") -> str:
    """``alias`` if it is a valid alias name; INVALID_ARGUMENT otherwise."""
    if not ALIAS_RE.match(alias):
        raise InvalidArgument.for_field(field, "must be 1-63 characters of [a-z0-9_-], starting with a letter")
    return alias


@dataclass(frozen=True)
class EventIndex:
    """The values of an event that filters and alias history read, flattened into columns."""

    kind: int
    alias: str | None
    alias_version: str | None
    deployment: str | None
    versions: tuple[str | None, str | None]


def validate_event(event: LifecycleEvent, now: datetime, prefix: str = "lifecycle_event") -> EventIndex:
    """Check an event to record (every version must belong to ``model``); returns its indexed values."""
    out: list[FieldViolation] = []
    p = prefix
    model_ok = bool(MODEL_RE.match(event.model))
    if not model_ok:
        out.append(FieldViolation(f"{p}.model", f"must have the form 'models/{{model}}' (got {event.model[:100]!r})"))
    if not event.HasField("event_time"):
        out.append(FieldViolation(f"{p}.event_time", "is required"))
    elif (violation := timestamp_violation(event.event_time, f"{p}.event_time")) is not None:
        out.append(violation)
    elif event.event_time.ToDatetime(tzinfo=UTC) > now + FUTURE_SKEW:
        out.append(FieldViolation(f"{p}.event_time", "must not be more than five minutes in the future"))
    if len(event.actor) > MAX_ACTOR or any(ord(c) < 32 for c in event.actor):
        out.append(FieldViolation(f"{p}.actor", f"must be at most {MAX_ACTOR} printable characters"))

    def version(value: str, field: str, required: bool) -> None:
        if not value:
            if required:
                out.append(FieldViolation(field, "is required"))
            return
        match = VERSION_RE.match(value)
        if not match:
            out.append(FieldViolation(field, f"must have the form 'models/{{model}}/versions/{{version}}' "
                                             f"(got {value[:100]!r})"))
        elif model_ok and match["model"] != event.model:
            out.append(FieldViolation(field, f"must be a version of {event.model!r}"))

    def deployment(value: str, field: str) -> None:
        if not DEPLOYMENT_RE.match(value):
            out.append(FieldViolation(field, f"must have the form 'deployments/{{deployment}}' (got {value[:100]!r})"))

    case = event.WhichOneof("payload")
    alias = alias_version = dep = None
    versions: tuple[str | None, str | None] = (None, None)
    if case is None:
        out.append(FieldViolation(p, "must set exactly one payload: version_registered, alias_moved, deployed, "
                                     "rolled_back or deleted"))
    elif case == "version_registered":
        v = event.version_registered
        version(v.model_version, f"{p}.version_registered.model_version", True)
        if v.training_job and not TRAINING_JOB_RE.match(v.training_job):
            out.append(FieldViolation(f"{p}.version_registered.training_job",
                                      "must have the form 'trainingJobs/{training_job}'"))
        versions = (v.model_version, None)
    elif case == "alias_moved":
        a = event.alias_moved
        if not ALIAS_RE.match(a.alias):
            out.append(FieldViolation(f"{p}.alias_moved.alias",
                                      "must be 1-63 characters of [a-z0-9_-], starting with a letter"))
        version(a.previous_version, f"{p}.alias_moved.previous_version", False)
        version(a.new_version, f"{p}.alias_moved.new_version", False)
        if not a.previous_version and not a.new_version:
            out.append(FieldViolation(f"{p}.alias_moved", "previous_version and new_version must not both be empty"))
        alias, alias_version = a.alias, a.new_version
        versions = (a.previous_version or None, a.new_version or None)
    elif case == "deployed":
        d = event.deployed
        deployment(d.deployment, f"{p}.deployed.deployment")
        version(d.model_version, f"{p}.deployed.model_version", True)
        if not 0 <= d.traffic_percent <= 100:
            out.append(FieldViolation(f"{p}.deployed.traffic_percent", "must be between 0 and 100"))
        dep, versions = d.deployment, (d.model_version, None)
    elif case == "rolled_back":
        r = event.rolled_back
        deployment(r.deployment, f"{p}.rolled_back.deployment")
        version(r.from_version, f"{p}.rolled_back.from_version", False)
        version(r.to_version, f"{p}.rolled_back.to_version", True)
        if len(r.reason) > MAX_REASON:
            out.append(FieldViolation(f"{p}.rolled_back.reason", f"must be at most {MAX_REASON} characters"))
        dep, versions = r.deployment, (r.from_version or None, r.to_version)
    else:
        resource = event.deleted.resource
        field = f"{p}.deleted.resource"
        if DEPLOYMENT_RE.match(resource):
            dep = resource
        elif VERSION_RE.match(resource):
            version(resource, field, True)
            versions = (resource, None)
        elif resource != event.model:
            out.append(FieldViolation(field, "must be the event's model, one of its versions, or a deployment"))
    raise_violations(out)
    return EventIndex(kind=KIND_OF_CASE[case or ""], alias=alias, alias_version=alias_version, deployment=dep,
                      versions=versions)


def normalize_event(event: LifecycleEvent) -> LifecycleEvent:
    """The event content as stored: output-only fields cleared (the server sets them)."""
    record = LifecycleEvent()
    record.CopyFrom(event)
    for name in ("name", "kind", "create_time", "source"):
        record.ClearField(name)
    return record


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias, as the alias history reads it."""

    event_id: str
    event_time: datetime
    new_version: str
    actor: str


@dataclass(frozen=True)
class Assignment:
    """A period during which an alias pointed at one version."""

    model_version: str
    start: AliasMove
    end: AliasMove | None


def assignments(moves_newest_first: list[AliasMove], newer: AliasMove | None) -> list[Assignment]:
    """The assignments begun by ``moves`` (newest first); ``newer`` is the move after the first one, if any.

    A move to a version begins an assignment that the next (newer) move ends; a removal begins none.
    """
    result = []
    for move in moves_newest_first:
        if move.new_version:
            result.append(Assignment(move.new_version, move, newer))
        newer = move
    return result
