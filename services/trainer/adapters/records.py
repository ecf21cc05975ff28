"""What a finished job records elsewhere, through the outbox: a registry model version and a history session."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.history.v1 import history_service_pb2, session_pb2
from lathe.kit.artifacts import FolderRef, read_folder, read_folder_file
from lathe.kit.outbox import Outbox
from lathe.registry.v1 import model_version_pb2, registry_service_pb2
from lathe.trainer.v1 import training_event_pb2, training_job_pb2
from services.trainer.adapters.store import session_uuid
from services.trainer.adapters.tables import outbox as outbox_table
from services.trainer.domain.config import RECIPE_IDS

# A succeeded job to register: the payload is the job as it succeeded; the relay reads its stored folder and
# registers it, retrying with backoff while the artifact store or the registry is unreachable.
REGISTER_TOPIC = "registry.register_job"
# Earlier trainers queued the finished CreateModelVersionRequest under this topic; still delivered.
REGISTRY_TOPIC = "registry.model_version"
HISTORY_TOPIC = "history.session"
EXPORT_FILE = "lathe-export.json"
Event = training_event_pb2.TrainingEvent
TrainingJob = training_job_pb2.TrainingJob
State = TrainingJob.State


def hyperparameters(job: TrainingJob) -> dict[str, object]:
    """The job's resolved configuration, flattened for the registry (``options.learning_rate`` …)."""
    flat: dict[str, object] = {}
    config = job.WhichOneof("recipe_config")

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        elif not isinstance(value, list):
            flat[prefix] = value

    parts = {"options": job.options, "scheduling": job.scheduling}
    if config:
        parts[config] = getattr(job, config)
    for name, message in parts.items():
        walk(name, MessageToDict(message, preserving_proto_field_name=True))
    return dict(list(flat.items())[:256])


def read_export(job: TrainingJob) -> tuple[FolderRef, dict[str, Any]]:
    """The stored folder of a succeeded job and its ``lathe-export.json`` (blocking I/O: run it in a thread).

    Both are read back from the artifact store (local or S3) by the job's artifact URI, the manifest checked
    against the digest of the worker's success event and the export file against the manifest, so registering
    needs no local copy of the folder.
    """
    folder = read_folder(job.artifact_uri, job.artifact_sha256)
    if not any(e.path == EXPORT_FILE for e in folder.files):
        return folder, {}
    return folder, json.loads(read_folder_file(folder, EXPORT_FILE))


async def registration_request(payload: bytes) -> registry_service_pb2.CreateModelVersionRequest:
    """The registry version of a :data:`REGISTER_TOPIC` message's job, read back from the artifact store."""
    job = TrainingJob.FromString(payload)
    folder, export = await asyncio.to_thread(read_export, job)
    return version_request(job, folder, export)


def version_request(job: TrainingJob, folder: FolderRef, export: dict[str, Any],
                    snapshot_digest: str = "") -> registry_service_pb2.CreateModelVersionRequest:
    """The registry version of a succeeded job, from its stored folder's manifest and export description."""
    architecture = export.get("architecture", {})
    version = model_version_pb2.ModelVersion(
        description=job.display_name or f"trained by {job.name}", creator=job.owner,
        artifact_uri=job.artifact_uri, recipe=RECIPE_IDS[job.recipe],
        manifest=model_version_pb2.Manifest(
            files=[model_version_pb2.ManifestFile(path=e.path, size_bytes=e.size_bytes, sha256=e.sha256)
                   for e in folder.files], digest=folder.digest),
        lineage=model_version_pb2.Lineage(snapshot=job.snapshot, snapshot_digest=snapshot_digest,
                                          training_job=job.name, parent_version=job.parent_model_version))
    version.architecture.family = architecture.get("family", "")
    version.architecture.parameter_count = int(architecture.get("parameter_count", 0))
    version.architecture.config.update({k: v for k, v in architecture.get("config", {}).items()})
    for key, value in sorted(job.latest_metrics.items()):
        split = key.split("/", 1)[0] if "/" in key else ""
        version.metrics.add(key=key, value=value, step=job.step, split=split)
    for key, value in sorted(job.baseline_metrics.items()):
        version.metrics.add(key=f"baseline/{key}", value=value, step=job.step)
    for key, value in hyperparameters(job).items():
        version.hyperparameters[key].CopyFrom(struct_pb2.Value())
        if isinstance(value, bool):
            version.hyperparameters[key].bool_value = value
        elif isinstance(value, int | float):
            version.hyperparameters[key].number_value = float(value)
        else:
            version.hyperparameters[key].string_value = str(value)
    return registry_service_pb2.CreateModelVersionRequest(parent=job.model, model_version=version)


def _history_key(key: str) -> str:
    """A metric name as history accepts it ([A-Za-z0-9_./-]): ``validation/recall@5`` → ``validation/recall_at_5``."""
    return re.sub(r"[^A-Za-z0-9_./-]", "_", key.replace("@", "_at_"))[:128]


def session_request(job: TrainingJob) -> history_service_pb2.RecordSessionRequest:
    """The history session of a finished job."""
    outcome = {State.STATE_SUCCEEDED: session_pb2.Session.OUTCOME_SUCCEEDED,
               State.STATE_FAILED: session_pb2.Session.OUTCOME_FAILED}.get(
        job.state, session_pb2.Session.OUTCOME_CANCELLED)
    session = session_pb2.Session(
        owner=job.owner, training_job=job.name, model_version=job.model_version, snapshot=job.snapshot,
        recipe=RECIPE_IDS[job.recipe], outcome=outcome,
        metrics={_history_key(k): v for k, v in [*job.latest_metrics.items(),
                                                  *((f"baseline/{k}", v) for k, v in job.baseline_metrics.items())]})
    session.start_time.CopyFrom(job.start_time if job.HasField("start_time") else job.create_time)
    session.end_time.CopyFrom(job.end_time if job.HasField("end_time") else job.update_time)
    session.duration.FromTimedelta(session.end_time.ToDatetime() - session.start_time.ToDatetime())
    session.config.update({k: v for k, v in hyperparameters(job).items()})
    session.token_counts.requested = job.total_steps * (job.tokens_processed // max(job.step, 1))
    session.token_counts.succeeded = job.tokens_processed
    session.example_counts.requested = job.total_steps * job.options.batch_size
    session.example_counts.succeeded = job.examples_processed
    if job.state == State.STATE_FAILED:
        session.error.CopyFrom(job.error)
    key = session_uuid(job.name)
    return history_service_pb2.RecordSessionRequest(session=session, session_id=key, request_id=key)


class Records:
    """The store side effects that enqueue records, and the outbox handlers that deliver them."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def _enqueue_once(self, session: AsyncSession, topic: str, key: str, payload: bytes) -> None:
        exists = (await session.execute(select(outbox_table.c.id).where(outbox_table.c.key == key))).first()
        if exists is None:
            await self.outbox.add(session, topic=topic, key=key, payload=payload)

    async def on_events(self, session: AsyncSession, job: TrainingJob, events: list[Event]) -> None:
        """Side effect of an append: enqueue the version on success, the session once the outcome is known."""
        kinds = {e.WhichOneof("payload") for e in events}
        if "job_succeeded" in kinds and not job.model_version:
            # Only the job is recorded here: reading its folder back (from S3, say) happens in the relay, so a
            # store that is briefly unreachable delays the registration instead of failing the success event.
            await self._enqueue_once(session, REGISTER_TOPIC, f"version:{job.name}", job.SerializeToString())
        if kinds & {"job_failed", "job_cancelled"} or "model_version_registered" in kinds:
            await self._enqueue_once(session, HISTORY_TOPIC, session_uuid(job.name),
                                     session_request(job).SerializeToString())
