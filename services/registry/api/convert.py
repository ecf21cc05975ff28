"""Proto ⇄ stored rows of the registry: versions, deployment records and lifecycle events."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from google.protobuf import json_format, struct_pb2
from google.rpc import status_pb2
from sqlalchemy.engine import Row

from lathe.history.v1 import history_service_pb2, lifecycle_event_pb2
from lathe.registry.v1 import model_version_pb2, registry_service_pb2, version_deployment_pb2
from services.registry.adapters.artifact_check import CheckResult
from services.registry.adapters.versions_repository import Searchable, utc
from services.registry.domain.versions import ManifestFile, MetricValue, version_name

MV = model_version_pb2.ModelVersion
BASIC = registry_service_pb2.MODEL_VERSION_VIEW_BASIC
_MISMATCH_KIND = {
    "missing": model_version_pb2.FileMismatch.KIND_MISSING,
    "size": model_version_pb2.FileMismatch.KIND_SIZE_MISMATCH,
    "sha256": model_version_pb2.FileMismatch.KIND_SHA256_MISMATCH,
}
MAX_REPORTED_MISMATCHES = 100


def manifest_files(manifest: model_version_pb2.Manifest) -> list[ManifestFile]:
    """The domain form of a manifest's files."""
    return [ManifestFile(f.path, f.size_bytes, f.sha256) for f in manifest.files]


def metric_values(metrics: list[model_version_pb2.Metric] | object) -> list[MetricValue]:
    """The domain form of metrics."""
    return [MetricValue(m.key, m.value, m.step, m.split) for m in metrics]  # type: ignore[attr-defined]


def searchable(version: MV) -> Searchable:
    """The side-table rows of a version: tags, metric values, and typed hyperparameters."""
    params: list[tuple[str, str, float | None, str | None]] = []
    for key, value in version.hyperparameters.items():
        kind = value.WhichOneof("kind")
        if kind == "bool_value":
            params.append((key, "b", 1.0 if value.bool_value else 0.0, None))
        elif kind == "number_value":
            params.append((key, "n", value.number_value, None))
        elif kind == "string_value":
            params.append((key, "s", None, value.string_value))
        else:
            params.append((key, "o", None, json_format.MessageToJson(value, indent=None)))
    return Searchable(tags=dict(version.tags), metrics={m.key: m.value for m in version.metrics}, params=params)


def etag(uid: str, revision: int) -> str:
    """Changes whenever the version changes."""
    return hashlib.sha256(f"{uid}:{revision}".encode()).hexdigest()[:16]


def version_to_proto(row: Row, aliases: list[str], deployments: list[str], view: int = 0) -> MV:
    """The public form of a stored version (``view`` BASIC leaves out the manifest's file list)."""
    message = MV.FromString(row.detail)
    message.name = version_name(row.model_id, row.number)
    message.uid = row.uid
    message.version_number = row.number
    message.state = row.state
    if row.error:
        message.error.CopyFrom(status_pb2.Status.FromString(row.error))
    message.create_time.FromDatetime(utc(row.create_time))
    message.update_time.FromDatetime(utc(row.update_time))
    if row.archive_time is not None:
        message.archive_time.FromDatetime(utc(row.archive_time))
    message.aliases[:] = aliases
    message.active_deployments[:] = deployments
    if row.verification:
        message.last_verification.CopyFrom(model_version_pb2.Verification.FromString(row.verification))
    message.etag = etag(row.uid, row.revision)
    if view == BASIC:
        message.manifest.ClearField("files")
    return message


def verification_proto(result: CheckResult, digest: str) -> model_version_pb2.Verification:
    """The stored and returned form of a check."""
    message = model_version_pb2.Verification(
        outcome=(model_version_pb2.Verification.OUTCOME_FAILED if result.mismatches
                 else model_version_pb2.Verification.OUTCOME_PASSED),
        manifest_digest=digest, checked_file_count=result.checked_files, checked_bytes=result.checked_bytes,
        mismatch_count=len(result.mismatches),
    )
    message.verify_time.FromDatetime(datetime.now(UTC))
    for m in result.mismatches[:MAX_REPORTED_MISMATCHES]:
        message.mismatches.add(path=m.path, kind=_MISMATCH_KIND[m.kind], expected_size_bytes=m.expected_size,
                               actual_size_bytes=m.actual_size, expected_sha256=m.expected_sha256,
                               actual_sha256=m.actual_sha256)
    return message


def deployment_to_proto(row: Row, model_id: str, number: int) -> version_deployment_pb2.VersionDeployment:
    """The public form of a deployment record."""
    message = version_deployment_pb2.VersionDeployment(
        name=f"{version_name(model_id, number)}/{row.deployment}", deployment=row.deployment, target=row.target,
        endpoint=row.endpoint, revision=row.revision, state=row.state, traffic_percent=row.traffic_percent,
        actor=row.actor, message=row.message,
    )
    message.event_time.FromDatetime(utc(row.event_time))
    message.create_time.FromDatetime(utc(row.create_time))
    message.update_time.FromDatetime(utc(row.update_time))
    return message


def lifecycle_request(*, key: str, model_id: str, actor: str, event_time: datetime,
                      **payload: object) -> history_service_pb2.RecordLifecycleEventRequest:
    """A RecordLifecycleEvent request for the history service, idempotent on ``key``."""
    event = lifecycle_event_pb2.LifecycleEvent(model=f"models/{model_id}", actor=actor, **payload)
    event.event_time.FromDatetime(event_time)
    return history_service_pb2.RecordLifecycleEventRequest(lifecycle_event=event, request_id=key)


def value_of(value: struct_pb2.Value | None) -> struct_pb2.Value:
    """A copy of ``value``, or a null Value for a missing one."""
    out = struct_pb2.Value()
    if value is None:
        out.null_value = struct_pb2.NULL_VALUE
    else:
        out.CopyFrom(value)
    return out


def plain(value: object) -> struct_pb2.Value:
    """A Python scalar (or None) as a protobuf Value."""
    out = struct_pb2.Value()
    if value is None:
        out.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, (int, float)):
        out.number_value = float(value)
    elif isinstance(value, struct_pb2.Value):
        out.CopyFrom(value)
    else:
        out.string_value = str(value)
    return out
