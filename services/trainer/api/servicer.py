"""The TrainerService servicer: proto ⇄ domain, authorization, and calls into the store and scheduler.

``GenerateSamples`` samples text from a causal-lm checkpoint or registered version on the CPU
(:mod:`services.trainer.adapters.sampling`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from lathe.corpus.v1 import corpus_service_pb2, snapshot_pb2
from lathe.kit.artifacts import open_store
from lathe.kit.auth import ROLE_READER, ROLE_SERVICE, ROLE_WRITER, current_principal
from lathe.kit.db import Database
from lathe.kit.errors import (
    DataLoss,
    FailedPrecondition,
    InvalidArgument,
    LatheError,
    NotFound,
    ResourceExhausted,
    Unavailable,
    from_rpc_error,
)
from lathe.kit.idempotency import RequestLog, request_digest, validate_request_id
from lathe.kit.keyset import SortKey, canonical, keyset_after, order_clauses, parse_order_by
from lathe.kit.manifest import folder_manifest, manifest_digest
from lathe.kit.outbox import Outbox
from lathe.kit.pagination import PageTokenCodec, page_size
from lathe.kit.peers import Peers
from lathe.registry.v1 import registry_service_pb2
from lathe.trainer.v1 import (
    checkpoint_pb2,
    trainer_service_pb2,
    trainer_service_pb2_grpc,
    training_config_pb2,
    training_event_pb2,
    training_job_pb2,
)
from services.trainer.adapters.evaluations import EVALUATION_TOPIC, EvaluationFailed, run_evaluation
from services.trainer.adapters.scheduler import Scheduler
from services.trainer.adapters.store import JobStore, job_id_of, now_ts
from services.trainer.adapters.tables import checkpoints, request_log, training_events, training_jobs
from services.trainer.domain import config as config_rules
from services.trainer.domain import filters
from services.trainer.domain.events import TERMINAL, TERMINAL_EVENTS

pb = trainer_service_pb2
TrainingJob = training_job_pb2.TrainingJob
Event = training_event_pb2.TrainingEvent
State = TrainingJob.State
CREATE = "/lathe.trainer.v1.TrainerService/CreateTrainingJob"
EVALUATE = "/lathe.trainer.v1.TrainerService/Evaluate"
_PAGES = PageTokenCodec()
# How often a watch with nothing new in this trainer's memory reads the job's log (its events may be written
# by the replica that runs the job).
WATCH_POLL_SECONDS = 1.0
_RESUME = PageTokenCodec(secret=b"lathe-trainer-resume-token")
RECIPE_BY_NAME = {**{k: v for v, k in config_rules.RECIPE_IDS.items()},
                  **{training_config_pb2.Recipe.Name(v): v for v in config_rules.RECIPE_IDS},
                  **{training_config_pb2.Recipe.Name(v).removeprefix("RECIPE_"): v for v in config_rules.RECIPE_IDS}}
EVENT_TYPES = {f.name for f in Event.DESCRIPTOR.oneofs_by_name["payload"].fields}


def _state_value(text: str, field: str) -> int:
    name = text.upper()
    name = name if name.startswith("STATE_") else f"STATE_{name}"
    try:
        return State.Value(name)
    except ValueError:
        raise InvalidArgument.for_field(field, f"unknown state {text!r}") from None


def _time(text: str, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument.for_field(field, f"{text!r} is not an RFC 3339 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _compare(column: Any, op: str, value: Any, field: str) -> Any:
    ops = {"=": column.__eq__, "!=": column.__ne__, "<": column.__lt__, "<=": column.__le__,
           ">": column.__gt__, ">=": column.__ge__}
    if op not in ops:
        raise InvalidArgument.for_field(field, f"operator {op} is not supported here")
    return ops[op](value)


# ``order_by`` fields of ListTrainingJobs. Unset start/end times sort last in either direction: they are
# replaced by a time after (ascending) or before (descending) every real one, so keyset pages stay exact.
_JOB_SORT = ("create_time", "start_time", "end_time", "priority")
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def _job_sort_expression(field: str, descending: bool) -> Any:
    from sqlalchemy import func, literal

    column = training_jobs.c[field]
    if field in ("start_time", "end_time"):
        return func.coalesce(column, literal(_EARLIEST if descending else _LATEST, column.type))
    return column


def _job_sort_value(job: TrainingJob, field: str, descending: bool) -> Any:
    if field == "priority":
        return job.scheduling.priority
    if field == "job_id":
        return job_id_of(job.name)
    if not job.HasField(field):
        return (_EARLIEST if descending else _LATEST).isoformat()
    return getattr(job, field).ToDatetime(UTC).isoformat()


class TrainerServicer(trainer_service_pb2_grpc.TrainerServiceServicer):
    """Serves ``lathe.trainer.v1.TrainerService`` from the trainer database and its scheduler."""

    def __init__(self, db: Database, store: JobStore, scheduler: Scheduler, peers: Peers,
                 outbox: Outbox | None = None, max_evaluations: int = 2,
                 cluster: config_rules.ClusterLimits | None = None) -> None:
        self._db = db
        # The jobs that run as Kubeflow PyTorchJobs (validated against these limits, not this trainer's devices).
        self._cluster = cluster
        self._store = store
        self._scheduler = scheduler
        self._peers = peers
        self._outbox = outbox
        self._requests = RequestLog(request_log)
        self._evaluations = asyncio.Semaphore(max_evaluations)

    # ------------------------------------------------------------------ helpers

    async def _visible_job(self, name: str, field: str = "name") -> tuple[str, TrainingJob]:
        principal = current_principal()
        principal.require_role(ROLE_READER)
        if not name.startswith("trainingJobs/") or not config_rules.JOB_ID.match(name.split("/", 1)[1]):
            raise InvalidArgument.for_field(field, "must be a training job name, trainingJobs/{training_job}")
        job_id = job_id_of(name)
        job, owner, _ = await self._store.get(job_id)
        if not principal.can_see(owner):
            # Another user's job is reported as missing: its existence is not revealed.
            raise NotFound(f"{name} does not exist", reason="TRAINING_JOB_NOT_FOUND", metadata={"name": name})
        return job_id, job

    @staticmethod
    def _peer_error(exc: grpc.aio.AioRpcError, field: str, what: str, prefix: str = "training_job.") -> LatheError:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return NotFound(f"{what} does not exist", reason=f"{field.split('.')[-1].upper()}_NOT_FOUND",
                            metadata={"field": f"{prefix}{field}"})
        if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return Unavailable(f"could not reach the service that owns {what}; retry with the same request_id",
                               reason="PEER_UNAVAILABLE")
        if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
            return InvalidArgument.for_field(f"{prefix}{field}", exc.details() or "is invalid")
        return from_rpc_error(exc)

    # ------------------------------------------------------------------ jobs

    async def CreateTrainingJob(self, request: pb.CreateTrainingJobRequest,
                                context: grpc.aio.ServicerContext) -> TrainingJob:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        validate_request_id(request.request_id)
        if request.training_job_id:
            config_rules.validate_job_id(request.training_job_id)
        if not request.HasField("training_job"):
            raise InvalidArgument.for_field("training_job", "is required")
        digest = request_digest(request)
        if request.request_id:
            async with self._db.sessions() as session:
                earlier = await self._requests.find(session, method=CREATE, principal=principal.user_id,
                                                    request_id=request.request_id, digest=digest,
                                                    response_type=TrainingJob)
            if earlier is not None:
                return earlier
        job = config_rules.resolve(request.training_job, is_admin=principal.is_admin,
                                   gpu_count=sum(1 for d in self._scheduler.devices
                                                 if d.kind == training_config_pb2.DEVICE_KIND_CUDA),
                                   device_names=[d.name for d in self._scheduler.devices],
                                   max_cpu_ranks=self._scheduler.max_cpu_ranks, cluster=self._cluster)
        job_id = request.training_job_id or f"job-{uuid.uuid4().hex[:16]}"
        if await self._store.exists(job_id):
            from lathe.kit.errors import AlreadyExists

            raise AlreadyExists(f"trainingJobs/{job_id} already exists", reason="TRAINING_JOB_EXISTS",
                                metadata={"field": "training_job_id"})
        snapshot = await self._pin_snapshot(job, request)
        counts = snapshot.counts
        if job.recipe in config_rules.QA_RECIPES:
            config_rules.check_qa_data(job, snapshot)
        else:
            config_rules.check_data_fits(job, train_characters=counts.train.character_count,
                                         validation_characters=counts.validation.character_count)
        if job.parent_model_version:
            await self._check_parent(job)
        if not job.options.HasField("seed"):
            job.options.seed = random.SystemRandom().randrange(1, 2**31)
        job.name = f"trainingJobs/{job_id}"
        job.owner = principal.user_id
        job.snapshot = snapshot.name
        job.state = State.STATE_QUEUED
        job.create_time.CopyFrom(now_ts())
        job.update_time.CopyFrom(job.create_time)
        if request.validate_only:
            return job

        async def remember(session: Any) -> None:
            if request.request_id:
                await self._requests.remember(session, method=CREATE, principal=principal.user_id,
                                              request_id=request.request_id, digest=digest, response=job)

        created = await self._store.create(job, remember)
        self._scheduler.wake()
        return created

    async def _pin_snapshot(self, job: TrainingJob, request: pb.CreateTrainingJobRequest) -> snapshot_pb2.Snapshot:
        corpus = self._peers.corpus()
        if job.data_source.WhichOneof("source") == "snapshot":
            try:
                snapshot = await corpus.GetSnapshot(
                    corpus_service_pb2.GetSnapshotRequest(name=job.data_source.snapshot))
            except grpc.aio.AioRpcError as exc:
                raise self._peer_error(exc, "data_source.snapshot", job.data_source.snapshot) from None
        else:
            # Pin the latest accumulated corpus: an identical earlier snapshot is reused, not duplicated.
            pin = corpus_service_pb2.CreateSnapshotRequest(
                snapshot=snapshot_pb2.Snapshot(filter=job.data_source.latest_corpus.filter,
                                               display_name="pinned by the trainer",
                                               split_config=snapshot_pb2.SplitConfig(
                                                   text_strategy=snapshot_pb2.TEXT_SPLIT_STRATEGY_TAIL)),
                reuse_existing=True, validate_only=request.validate_only,
                request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"trainer:{request.request_id}"))
                if request.request_id else "")
            try:
                snapshot = await corpus.CreateSnapshot(pin)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    raise InvalidArgument.for_field("training_job.data_source.latest_corpus",
                                                    f"selects no data: {exc.details()}") from None
                raise self._peer_error(exc, "data_source.latest_corpus.filter", "the latest corpus") from None
        if snapshot.state == snapshot_pb2.Snapshot.STATE_FAILED:
            raise FailedPrecondition(f"{snapshot.name} failed and cannot be trained on", reason="SNAPSHOT_FAILED",
                                     metadata={"field": "training_job.data_source.snapshot"})
        return snapshot

    async def _check_parent(self, job: TrainingJob) -> None:
        try:
            version = await self._peers.registry().GetModelVersion(
                registry_service_pb2.GetModelVersionRequest(name=job.parent_model_version))
        except grpc.aio.AioRpcError as exc:
            raise self._peer_error(exc, "parent_model_version", job.parent_model_version) from None
        recipe = config_rules.RECIPE_IDS[job.recipe]
        if version.recipe != recipe:
            raise InvalidArgument.for_field("training_job.parent_model_version",
                                            f"was produced by {version.recipe!r}, not {recipe!r}")
        if job.recipe == training_config_pb2.RECIPE_CAUSAL_LM:
            config = dict(version.architecture.config.items())
            wanted = {"n_layer": job.causal_lm.layers, "n_head": job.causal_lm.heads,
                      "n_embd": job.causal_lm.embedding_size, "block_size": job.causal_lm.block_size,
                      "bias": job.causal_lm.bias}
            mismatched = [k for k, v in wanted.items() if k in config and config[k] != v]
            if mismatched:
                raise InvalidArgument.for_field(
                    "training_job.causal_lm",
                    "does not match the parent version's architecture: "
                    + ", ".join(f"{k} {wanted[k]} != {config[k]}" for k in mismatched),
                    reason="ARCHITECTURE_MISMATCH")

    async def GetTrainingJob(self, request: pb.GetTrainingJobRequest, context: grpc.aio.ServicerContext) -> TrainingJob:
        _, job = await self._visible_job(request.name)
        return job

    async def ListTrainingJobs(self, request: pb.ListTrainingJobsRequest,
                               context: grpc.aio.ServicerContext) -> pb.ListTrainingJobsResponse:
        principal = current_principal()
        principal.require_role(ROLE_READER)
        limit = page_size(request.page_size)
        t = training_jobs
        where: list[Any] = []
        if not (principal.is_admin or principal.is_service):
            where.append(t.c.owner == principal.user_id)
        columns = {"state": t.c.state, "recipe": t.c.recipe, "owner": t.c.owner, "snapshot": t.c.snapshot,
                   "parent_model_version": t.c.parent_model_version, "model_version": t.c.model_version,
                   "create_time": t.c.create_time, "start_time": t.c.start_time, "end_time": t.c.end_time}
        for group in filters.parse(request.filter):
            clauses = []
            for c in group:
                if c.field not in columns:
                    raise InvalidArgument.for_field("filter", f"unknown field {c.field!r}")
                value: Any = c.value
                if c.field == "state":
                    value = _state_value(c.value, "filter")
                elif c.field == "recipe":
                    if c.value not in RECIPE_BY_NAME:
                        raise InvalidArgument.for_field("filter", f"unknown recipe {c.value!r}")
                    value = RECIPE_BY_NAME[c.value]
                elif c.field.endswith("_time"):
                    value = _time(c.value, "filter")
                if c.field == "owner" and not principal.is_admin:
                    continue
                clauses.append(_compare(columns[c.field], c.op, value, "filter"))
            if clauses:
                from sqlalchemy import or_

                where.append(or_(*clauses))
        keys = parse_order_by(request.order_by.lower(), list(_JOB_SORT), default="create_time desc")
        columns_by_key = {k.field: _job_sort_expression(k.field, k.descending) for k in keys}
        columns_by_key["job_id"] = t.c.job_id
        keys.append(SortKey("job_id", keys[0].descending))  # ties broken by name
        query = _PAGES.fingerprint("jobs", request.filter, canonical(keys), principal.user_id)
        last = _PAGES.decode(request.page_token, query=query)
        if last is not None:
            if len(last) != len(keys):
                raise InvalidArgument.for_field("page_token", "does not belong to this query")
            values = [datetime.fromisoformat(v) if k.field.endswith("_time") else v
                      for k, v in zip(keys, last, strict=True)]
            where.append(keyset_after(columns_by_key, keys, values))
        jobs = await self._store.list_jobs(where, order_clauses(columns_by_key, keys), limit + 1)
        response = pb.ListTrainingJobsResponse(training_jobs=jobs[:limit])
        if len(jobs) > limit:
            tail = jobs[limit - 1]
            token = [_job_sort_value(tail, k.field, k.descending) for k in keys]
            response.next_page_token = _PAGES.encode(token, query=query)
        return response

    async def CancelTrainingJob(self, request: pb.CancelTrainingJobRequest,
                                context: grpc.aio.ServicerContext) -> TrainingJob:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        job_id, job = await self._visible_job(request.name)
        if job.state in (State.STATE_SUCCEEDED, State.STATE_FAILED):
            outcome = "succeeded" if job.state == State.STATE_SUCCEEDED else "failed"
            raise FailedPrecondition(f"{request.name} has already {outcome}",
                                     reason="JOB_FINISHED", metadata={"state": State.Name(job.state)})
        if job.state in (State.STATE_CANCELLING, State.STATE_CANCELLED):
            return job
        requested = Event(cancellation_requested=Event.CancellationRequested(requested_by=principal.user_id))
        if job.state == State.STATE_QUEUED:
            updated = await self._store.append(
                job_id, [requested, Event(job_cancelled=Event.JobCancelled(step=0, cancelled_by=principal.user_id))],
                only_if=lambda j: j.state == State.STATE_QUEUED)
            if updated is not None:
                return updated
            job, _, _ = await self._store.get(job_id)
            if job.state != State.STATE_RUNNING:
                return job
        updated = await self._store.append(job_id, [requested], only_if=lambda j: j.state == State.STATE_RUNNING)
        if updated is None:
            return (await self._store.get(job_id))[0]
        if not await self._scheduler.cancel(job_id):
            updated = await self._store.append(
                job_id, [Event(job_cancelled=Event.JobCancelled(step=updated.step, cancelled_by=principal.user_id))],
                only_if=lambda j: j.state == State.STATE_CANCELLING) or updated
        return updated

    async def ListCheckpoints(self, request: pb.ListCheckpointsRequest,
                              context: grpc.aio.ServicerContext) -> pb.ListCheckpointsResponse:
        job_id, job = await self._visible_job(request.parent, "parent")
        limit = page_size(request.page_size)
        c = checkpoints
        where: list[Any] = []
        for group in filters.parse(request.filter):
            (cmp,) = group if len(group) == 1 else (None,)
            if cmp is None:
                raise InvalidArgument.for_field("filter", "OR groups are not supported here")
            if cmp.field == "step":
                where.append(_compare(c.c.step, cmp.op, int(cmp.value), "filter"))
            elif cmp.field == "is_best" and cmp.op == "=":
                where.append(c.c.is_best.is_(cmp.value.lower() == "true"))
            elif cmp.field == "create_time":
                where.append(_compare(c.c.create_time, cmp.op, _time(cmp.value, "filter"), "filter"))
            else:
                raise InvalidArgument.for_field("filter", f"unknown field {cmp.field!r}")
        order = (request.order_by or "step").strip().lower()
        if order not in ("step", "step desc", "create_time", "create_time desc"):
            raise InvalidArgument.for_field("order_by", "must be step, step desc, create_time or create_time desc")
        descending = order.endswith("desc")
        query = _PAGES.fingerprint("checkpoints", job_id, request.filter, order)
        last = _PAGES.decode(request.page_token, query=query)
        if last is not None:
            where.append(c.c.step < last[0] if descending else c.c.step > last[0])
        ordering = [c.c.step.desc() if descending else c.c.step]
        rows = await self._store.list_checkpoints(job_id, where, ordering, limit + 1)
        response = pb.ListCheckpointsResponse()
        for row in rows[:limit]:
            stamp = Timestamp()
            stamp.FromDatetime(row.create_time if row.create_time.tzinfo else row.create_time.replace(tzinfo=UTC))
            response.checkpoints.append(checkpoint_pb2.Checkpoint(
                name=f"{job.name}/checkpoints/step-{row.step:09d}", step=row.step, epoch=row.epoch, uri=row.uri,
                sha256=row.sha256, size_bytes=row.size_bytes, metrics=row.metrics, is_best=row.is_best,
                create_time=stamp))
        if len(rows) > limit:
            response.next_page_token = _PAGES.encode([rows[limit - 1].step], query=query)
        return response

    # ------------------------------------------------------------------ evaluation

    async def Evaluate(self, request: pb.EvaluateRequest, context: grpc.aio.ServicerContext) -> pb.EvaluateResponse:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        validate_request_id(request.request_id)
        if not config_rules.VERSION_NAME.match(request.model_version):
            raise InvalidArgument.for_field("model_version",
                                            "must be a model version name, models/{model}/versions/{version}")
        if not config_rules.SNAPSHOT_NAME.match(request.snapshot):
            raise InvalidArgument.for_field("snapshot", "must be a snapshot name, snapshots/{snapshot}")
        if request.split not in training_config_pb2.DatasetSplit.values():
            raise InvalidArgument.for_field("split", f"unknown split {request.split}")
        digest = request_digest(request)
        if request.request_id:
            async with self._db.sessions() as session:
                earlier = await self._requests.find(session, method=EVALUATE, principal=principal.user_id,
                                                    request_id=request.request_id, digest=digest,
                                                    response_type=pb.EvaluateResponse)
            if earlier is not None:
                return earlier
        try:
            version = await self._peers.registry().GetModelVersion(
                registry_service_pb2.GetModelVersionRequest(name=request.model_version))
        except grpc.aio.AioRpcError as exc:
            raise self._peer_error(exc, "model_version", request.model_version, prefix="") from None
        try:
            snapshot = await self._peers.corpus().GetSnapshot(
                corpus_service_pb2.GetSnapshotRequest(name=request.snapshot))
        except grpc.aio.AioRpcError as exc:
            raise self._peer_error(exc, "snapshot", request.snapshot, prefix="") from None
        recipe = RECIPE_BY_NAME.get(version.recipe)
        if recipe is None:
            raise InvalidArgument.for_field("model_version", f"was produced by {version.recipe!r}, which this "
                                            "trainer cannot evaluate", reason="RECIPE_UNAVAILABLE")
        if snapshot.state != snapshot_pb2.Snapshot.STATE_READY:
            raise FailedPrecondition(f"{snapshot.name} is not READY", reason="SNAPSHOT_NOT_READY",
                                     metadata={"field": "snapshot"})
        if recipe in config_rules.QA_RECIPES and snapshot.counts.total.qa_cluster_count < 2:
            raise InvalidArgument.for_field("snapshot", f"{snapshot.name} has {snapshot.counts.total.qa_cluster_count}"
                                            f" Q-A clusters; a {version.recipe} model needs at least two",
                                            reason="TOO_FEW_QA_CLUSTERS")
        embedding_model = version.architecture.config["embedding_model"] \
            if "embedding_model" in version.architecture.config else ""
        if recipe == training_config_pb2.RECIPE_PROJECTION_HEADS and embedding_model not in snapshot.embedding_models:
            raise InvalidArgument.for_field("snapshot", f"{snapshot.name} holds no embeddings by {embedding_model}",
                                            reason="SNAPSHOT_NOT_EMBEDDED")
        folder = await self._scheduler.version_folder(version)
        if not await asyncio.to_thread(folder.is_dir):
            raise FailedPrecondition(f"the artifact of {version.name} is not on this trainer ({version.artifact_uri})",
                                     reason="ARTIFACT_UNREACHABLE")
        if self._evaluations.locked():
            raise ResourceExhausted("too many evaluations are running; retry later", reason="TOO_MANY_EVALUATIONS")
        async with self._evaluations:
            actual = await asyncio.to_thread(lambda: manifest_digest(folder_manifest(folder)))
            if version.manifest.digest and actual != version.manifest.digest:
                raise DataLoss(f"the artifact of {version.name} does not match its recorded manifest "
                               f"({actual} != {version.manifest.digest})", reason="ARTIFACT_CHECKSUM_MISMATCH")
            data_dir = await self._scheduler.prepare_snapshot(snapshot.name)
            try:
                result = await run_evaluation(
                    {"recipe": version.recipe, "model_folder": str(folder), "data_dir": str(data_dir),
                     "split": int(request.split), "threads": self._scheduler.cpu_threads},
                    threads=self._scheduler.cpu_threads, work_dir=self._scheduler.home / "trainer" / "evaluations")
            except EvaluationFailed as exc:
                if exc.invalid:
                    raise InvalidArgument.for_field("snapshot", f"does not fit {version.name}: {exc}",
                                                    reason="DATA_DOES_NOT_FIT") from None
                raise
        response = pb.EvaluateResponse(
            model_version=version.name, snapshot=snapshot.name,
            split=request.split or training_config_pb2.DATASET_SPLIT_VALIDATION, recipe=recipe,
            metrics=result["metrics"], baseline_metrics=result["baseline_metrics"], baseline=result["baseline"],
            example_count=int(result["example_count"]), evaluation_time=now_ts())
        async with self._db.sessions() as session, session.begin():
            if self._outbox is not None:
                await self._outbox.add(session, topic=EVALUATION_TOPIC, key=f"eval:{uuid.uuid4()}",
                                       payload=response.SerializeToString())
            if request.request_id:
                await self._requests.remember(session, method=EVALUATE, principal=principal.user_id,
                                              request_id=request.request_id, digest=digest, response=response)
        return response

    # ------------------------------------------------------------------ events

    def _event_filter(self, text: str, *, watch: bool) -> tuple[list[Any], Any]:
        """SQL clauses and an in-memory predicate for an event filter."""
        t = training_events
        clauses: list[Any] = []
        checks: list[Any] = []
        allowed = {"type", "attempt"} if watch else {"type", "attempt", "sequence", "event_time"}
        for group in filters.parse(text):
            sql, preds = [], []
            for c in group:
                if c.field not in allowed:
                    raise InvalidArgument.for_field("filter", f"unknown field {c.field!r}")
                if c.field == "type":
                    if c.value not in EVENT_TYPES or c.op not in ("=", "!="):
                        raise InvalidArgument.for_field("filter", f"unknown event type {c.value!r} or operator")
                    sql.append(_compare(t.c.event_type, c.op, c.value, "filter"))
                    preds.append(lambda e, c=c: (e.WhichOneof("payload") == c.value) == (c.op == "="))
                elif c.field in ("attempt", "sequence"):
                    try:
                        number = int(c.value)
                    except ValueError:
                        raise InvalidArgument.for_field("filter", f"{c.field} needs an integer") from None
                    column = t.c.attempt if c.field == "attempt" else t.c.sequence
                    sql.append(_compare(column, c.op, number, "filter"))
                    ops = {"=": int.__eq__, "!=": int.__ne__, "<": int.__lt__, "<=": int.__le__, ">": int.__gt__,
                           ">=": int.__ge__}
                    preds.append(lambda e, c=c, n=number, ops=ops: ops[c.op](getattr(e, c.field), n))
                else:
                    sql.append(_compare(t.c.event_time, c.op, _time(c.value, "filter"), "filter"))
            from sqlalchemy import or_

            clauses.append(or_(*sql))
            checks.append(lambda e, preds=preds: any(p(e) for p in preds))
        return clauses, (lambda e: all(check(e) for check in checks))

    def _resume_token(self, job_id: str, sequence: int) -> str:
        return _RESUME.encode([sequence], query=job_id)

    async def ListTrainingEvents(self, request: pb.ListTrainingEventsRequest,
                                 context: grpc.aio.ServicerContext) -> pb.ListTrainingEventsResponse:
        job_id, _ = await self._visible_job(request.parent, "parent")
        limit = page_size(request.page_size, default=100)
        clauses, _ = self._event_filter(request.filter, watch=False)
        order = (request.order_by or "sequence").strip().lower()
        if order not in ("sequence", "sequence desc"):
            raise InvalidArgument.for_field("order_by", "must be sequence or sequence desc")
        descending = order == "sequence desc"
        query = _PAGES.fingerprint("events", job_id, request.filter, order)
        last = _PAGES.decode(request.page_token, query=query)
        channel = await self._store.channel(job_id)
        end = channel.last_sequence
        after = last[0] if last is not None else (end + 1 if descending else 0)
        events = await self._store.read_events(job_id, after, limit + 1, descending=descending, where=clauses)
        response = pb.ListTrainingEventsResponse(events=events[:limit])
        if len(events) > limit:
            response.next_page_token = _PAGES.encode([events[limit - 1].sequence], query=query)
        if descending:
            response.resume_token = self._resume_token(job_id, end)
        else:
            position = events[limit - 1].sequence if len(events) > limit else max(end, after)
            response.resume_token = self._resume_token(job_id, position)
        return response

    async def WatchTrainingEvents(self, request: pb.WatchTrainingEventsRequest,
                                  context: grpc.aio.ServicerContext) -> AsyncIterator[pb.WatchTrainingEventsResponse]:
        job_id, _ = await self._visible_job(request.parent, "parent")
        _, matches = self._event_filter(request.filter, watch=True)
        heartbeat = 10.0
        if request.HasField("heartbeat_interval"):
            heartbeat = request.heartbeat_interval.ToTimedelta().total_seconds()
            if not 1 <= heartbeat <= 60:
                raise InvalidArgument.for_field("heartbeat_interval", "must be between 1 and 60 seconds")
        position = 0
        if request.resume_token:
            (position,) = _RESUME.decode(request.resume_token, query=job_id, field="resume_token")
        channel = await self._store.channel(job_id)
        if position > channel.last_sequence:
            raise InvalidArgument.for_field("resume_token", "points past the end of the job's log")
        loop = asyncio.get_running_loop()
        last_beat = loop.time()
        durable: list = []
        while True:
            signal = channel.changed
            batch = durable or channel.after(position)
            durable = []
            if batch is None:
                # Far behind the in-memory tail: catch up from the durable log, a page at a time.
                batch = await self._store.read_events(job_id, position, 500)
            if batch:
                for event in batch:
                    position = event.sequence
                    if matches(event):
                        yield pb.WatchTrainingEventsResponse(event=event,
                                                             resume_token=self._resume_token(job_id, position))
                    if event.WhichOneof("payload") in TERMINAL_EVENTS:
                        return
                last_beat = loop.time()
                continue
            if channel.terminal:
                return
            try:
                await asyncio.wait_for(signal.wait(), timeout=min(heartbeat, WATCH_POLL_SECONDS))
                continue
            except TimeoutError:
                pass
            # Another replica may be running the job (leases): its events reach this one only through the log.
            durable = await self._store.read_events(job_id, position, 500)
            if not durable and loop.time() - last_beat >= heartbeat:
                last_beat = loop.time()
                job, _, _ = await self._store.get(job_id)
                yield pb.WatchTrainingEventsResponse(
                    heartbeat=pb.WatchTrainingEventsResponse.Heartbeat(
                        heartbeat_time=now_ts(), job_state=job.state,
                        last_sequence=max(channel.last_sequence, position)),
                    resume_token=self._resume_token(job_id, position))


    async def ReportWorkerEvents(self, request_iterator: AsyncIterator[pb.ReportWorkerEventsRequest],
                                 context: grpc.aio.ServicerContext) -> AsyncIterator[pb.ReportWorkerEventsResponse]:
        """A PyTorchJob worker's events, appended to its job's log (:mod:`services.trainer.adapters.remote`)."""
        current_principal().require_role(ROLE_SERVICE)
        first = await anext(request_iterator, None)
        if first is None:
            return
        if not first.name.startswith("trainingJobs/") or not config_rules.JOB_ID.match(first.name.split("/", 1)[1]):
            raise InvalidArgument.for_field("name", "must be a training job name, trainingJobs/{training_job}")
        job_id = job_id_of(first.name)
        await self._store.get(job_id)
        remote = self._scheduler.remote
        if remote is None:
            raise FailedPrecondition(f"{first.name} is not running on Kubernetes: this trainer runs no job there",
                                     reason="NOT_A_REMOTE_JOB", metadata={"name": first.name})
        async for response in remote.receive(job_id, first, request_iterator):
            yield response

    # ------------------------------------------------------------------ sampling

    async def GenerateSamples(self, request: pb.GenerateSamplesRequest,
                              context: grpc.aio.ServicerContext) -> pb.GenerateSamplesResponse:
        from services.trainer.adapters import sampling

        current_principal().require_role(ROLE_READER)
        params = sampling.resolve(request)
        if request.model_version:
            return await self._sample_version(request.model_version, params)
        job_id, job = await self._visible_job(request.name)
        if job.recipe != training_config_pb2.RECIPE_CAUSAL_LM:
            raise FailedPrecondition(f"{request.name} is not a causal-lm job and does not generate text",
                                     reason="NOT_A_CAUSAL_LM", metadata={"field": "name"})
        c = checkpoints
        where: list[Any] = []
        order = [c.c.step.desc()]
        wanted = request.checkpoint.removeprefix(f"{job.name}/checkpoints/")
        if request.checkpoint and (wanted == request.checkpoint or "/" in wanted):
            raise InvalidArgument.for_field("checkpoint", f"must be a checkpoint of {job.name}, "
                                            f"{job.name}/checkpoints/{{checkpoint}}")
        if wanted == "best":
            where.append(c.c.is_best.is_(True))
        elif wanted and wanted != "latest":
            try:
                step = int(wanted.removeprefix("step-"))
            except ValueError:
                raise InvalidArgument.for_field("checkpoint", "the checkpoint id must be step-<n>, latest or best") \
                    from None
            where.append(c.c.step == step)
        rows = await self._store.list_checkpoints(job_id, where, order, 1)
        if not rows:
            if request.checkpoint and wanted != "latest":
                raise NotFound(f"{request.checkpoint} does not exist", reason="CHECKPOINT_NOT_FOUND",
                               metadata={"field": "checkpoint"})
            raise FailedPrecondition(f"{job.name} has no checkpoint yet", reason="NO_CHECKPOINT",
                                     metadata={"state": State.Name(job.state)})
        row = rows[0]
        store = open_store(self._scheduler.artifact_root)
        model, tokenizer, step = await asyncio.to_thread(sampling.load_checkpoint, store, row.uri, row.sha256)
        if tokenizer is None:
            data_dir = await self._scheduler.data_dir(job)
            parent = await self._scheduler.parent_folder(job) if job.parent_model_version else None
            tokenizer = await asyncio.to_thread(sampling.rebuild_tokenizer, job, data_dir, parent)
        samples = await asyncio.to_thread(sampling.generate, model, tokenizer, params)
        return pb.GenerateSamplesResponse(samples=samples, checkpoint=f"{job.name}/checkpoints/step-{step:09d}",
                                          step=step, seed=params.seed)

    async def _sample_version(self, name: str, params: Any) -> pb.GenerateSamplesResponse:
        import json

        from services.trainer.adapters import sampling

        try:
            version = await self._peers.registry().GetModelVersion(
                registry_service_pb2.GetModelVersionRequest(name=name))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound(f"{name} does not exist", reason="MODEL_VERSION_NOT_FOUND",
                               metadata={"field": "model_version"}) from None
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument.for_field("model_version", exc.details() or "is invalid") from None
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unavailable("could not reach the registry", reason="PEER_UNAVAILABLE") from None
            raise from_rpc_error(exc) from None
        if version.recipe != "causal-lm":
            raise FailedPrecondition(f"{name} was produced by {version.recipe!r}; only causal-lm versions "
                                     "generate text", reason="NOT_A_CAUSAL_LM", metadata={"field": "model_version"})
        folder = await self._scheduler.version_folder(version)
        model, tokenizer = await asyncio.to_thread(sampling.load_version, folder, version.manifest.digest)
        step = 0
        with contextlib.suppress(OSError, ValueError, KeyError):
            step = int(json.loads((folder / "lathe-export.json").read_text())["step"])
        samples = await asyncio.to_thread(sampling.generate, model, tokenizer, params)
        return pb.GenerateSamplesResponse(samples=samples, step=step, seed=params.seed, model_version=version.name)

__all__ = ["TERMINAL", "TrainerServicer"]
