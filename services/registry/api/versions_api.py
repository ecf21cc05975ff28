"""RegistryService RPCs of model versions, aliases, search, compare, verification and deployment records."""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import grpc
import structlog
from google.protobuf import empty_pb2
from google.rpc import code_pb2, status_pb2
from sqlalchemy import Row, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from lathe.kit.auth import ROLE_ADMIN, ROLE_READER, ROLE_SERVICE, ROLE_WRITER, current_principal
from lathe.kit.batching import MicroBatcher
from lathe.kit.db import Database
from lathe.kit.errors import (
    Aborted,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from lathe.kit.filtering import BoolOp, parse_filter
from lathe.kit.idempotency import RequestLog, request_digest, validate_request_id
from lathe.kit.keyset import keyset_after, order_clauses, parse_order_by
from lathe.kit.outbox import Outbox
from lathe.kit.pagination import PageTokenCodec, page_size
from lathe.registry.v1 import model_pb2, registry_service_pb2, version_deployment_pb2
from services.registry.adapters import artifact_check
from services.registry.adapters.search import compare, compile_filter, parse_sort
from services.registry.adapters.tables import aliases, model_versions, version_deployments
from services.registry.adapters.version_writer import VersionWriter
from services.registry.adapters.versions_repository import Searchable, VersionRepository, utc
from services.registry.api.convert import (
    BASIC,
    MV,
    deployment_to_proto,
    etag,
    lifecycle_request,
    manifest_files,
    metric_values,
    plain,
    searchable,
    value_of,
    verification_proto,
    version_to_proto,
)
from services.registry.domain.models import MAX_DESCRIPTION, parse_model_name, validate_fields
from services.registry.domain.versions import (
    DEPLOYMENT_RE,
    MAX_COMPARE,
    compare_metrics,
    differences,
    parse_version_name,
    validate_alias,
    validate_manifest,
    validate_metrics,
    version_name,
)

_log = structlog.get_logger("lathe.registry")
CREATE_VERSION = "/lathe.registry.v1.RegistryService/CreateModelVersion"
HISTORY_TOPIC = "history.lifecycle"
PENDING, READY = MV.STATE_PENDING_REGISTRATION, MV.STATE_READY
FAILED, ARCHIVED = MV.STATE_FAILED_REGISTRATION, MV.STATE_ARCHIVED
VD = version_deployment_pb2.VersionDeployment
# Artifacts this small are hashed on the event loop (well under a millisecond of blocking): handing them to a
# thread would cost more CPU than the hashing. Only local (file://) artifacts: remote reads always go to a thread.
ON_LOOP_CHECK_MAX_BYTES = 256 << 10
DEPLOYMENT_FIELDS = {"deployment": "string", "target": "string", "state": "enum", "create_time": "timestamp",
                     "update_time": "timestamp", "event_time": "timestamp"}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class PendingVersion:
    """A validated CreateModelVersion waiting for the batch writer."""

    model_id: str
    caller: str
    request_id: str
    request_hash: str
    values: dict[str, Any]
    searchable: Searchable
    training_job: str


class VersionsApi:
    """Model versions and everything attached to them; mixed into the RegistryServicer."""

    _db: Database
    _tokens: PageTokenCodec
    _requests: RequestLog

    def _init_versions(self, outbox: Outbox, *, sync_verify_max_bytes: int) -> None:
        self._versions = VersionRepository()
        self._writer = VersionWriter(self._db, self._versions)
        self._create_batcher: MicroBatcher[PendingVersion, MV] = MicroBatcher(self._write_versions)
        self._outbox = outbox
        self._sync_verify_max_bytes = sync_verify_max_bytes
        self._verify_queue: asyncio.Queue[int] = asyncio.Queue()
        self._verifier: asyncio.Task | None = None

    # ---------------------------------------------------------------- background registration

    async def start_background(self) -> None:
        """Resume registrations left pending (by a restart) and start the registration worker."""
        async with self._db.sessions() as session:
            pending = (await session.execute(
                select(model_versions.c.id).where(model_versions.c.state == PENDING))).scalars().all()
        for version_id in pending:
            self._verify_queue.put_nowait(version_id)
        self._verifier = asyncio.create_task(self._verify_forever(), name="registry-verifier")

    async def stop_background(self) -> None:
        """Stop the registration worker; pending versions resume at the next start."""
        await self._create_batcher.close()
        await self._writer.close()
        if self._verifier is not None:
            self._verifier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._verifier

    async def _verify_forever(self) -> None:
        while True:
            version_id = await self._verify_queue.get()
            try:
                await self._register(version_id)
            except Exception:
                _log.exception("registration_check_crashed", version_id=version_id)

    async def _register(self, version_id: int) -> None:
        """Check a pending version's artifact and move it to READY or FAILED_REGISTRATION."""
        async with self._db.sessions() as session:
            row = (await self._versions.rows_by_ids(session, [version_id])).get(version_id)
        if row is None or row.state != PENDING:
            return
        detail = MV.FromString(row.detail)
        result = await asyncio.to_thread(artifact_check.check_files, row.artifact_uri,
                                         manifest_files(detail.manifest))
        async with self._db.sessions.begin() as session:
            await self._finish_registration(session, row, result)

    async def _finish_registration(self, session: Any, row: Row, result: artifact_check.CheckResult) -> None:
        values = self._registration_outcome(row.manifest_digest, result)
        await session.execute(update(model_versions).where(
            model_versions.c.id == row.id, model_versions.c.state == PENDING).values(
            update_time=_now(), revision=model_versions.c.revision + 1, **values))
        if values["state"] == READY:
            await self._emit_registered(session, row.uid, row.model_id, row.number, row.creator,
                                        MV.FromString(row.detail).lineage.training_job)

    @staticmethod
    def _registration_outcome(manifest_digest: str, result: artifact_check.CheckResult) -> dict[str, Any]:
        """The columns a finished check sets: READY, or FAILED_REGISTRATION with the first mismatch."""
        verification = verification_proto(result, manifest_digest)
        values: dict[str, Any] = {"verification": verification.SerializeToString(),
                                  "integrity_failed": bool(result.mismatches), "state": READY, "error": None}
        if result.mismatches:
            first = result.mismatches[0]
            status = status_pb2.Status(
                code=code_pb2.FAILED_PRECONDITION,
                message=f"{len(result.mismatches)} file(s) do not match the manifest; first: {first.path} "
                        f"({first.kind})")
            values.update(state=FAILED, error=status.SerializeToString())
        return values

    async def _emit_registered(self, session: Any, uid: str, model_id: str, number: int, creator: str,
                               training_job: str) -> None:
        await self._outbox.add_many(session, [self._registered_message(uid, model_id, number, creator,
                                                                       training_job)])

    @staticmethod
    def _registered_message(uid: str, model_id: str, number: int, creator: str,
                            training_job: str) -> tuple[str, str, bytes]:
        key = f"registered:{uid}"
        request = lifecycle_request(key=key, model_id=model_id, actor=creator, event_time=_now(),
                                    version_registered={"model_version": version_name(model_id, number),
                                                        "training_job": training_job})
        return HISTORY_TOPIC, key, request.SerializeToString()

    async def _emit(self, session: Any, *, key: str, model_id: str, actor: str, **payload: Any) -> None:
        request = lifecycle_request(key=key, model_id=model_id, actor=actor, event_time=_now(), **payload)
        await self._outbox.add(session, topic=HISTORY_TOPIC, key=key, payload=request.SerializeToString())

    # ---------------------------------------------------------------- helpers

    async def _proto(self, session: Any, row: Row, view: int = 0) -> MV:
        return (await self._protos(session, [row], view))[0]

    async def _protos(self, session: Any, rows: list[Row], view: int) -> list[MV]:
        alias_map, deployments = await self._versions.references_of(session, [r.id for r in rows])
        return [version_to_proto(r, [f"models/{r.model_id}@{a}" for a in alias_map[r.id]], deployments[r.id], view)
                for r in rows]

    @staticmethod
    def _check_etag(given: str, row: Row) -> None:
        if given and given != etag(row.uid, row.revision):
            raise Aborted(f"'{version_name(row.model_id, row.number)}' has changed since it was read (etag "
                          "mismatch)", reason="ETAG_MISMATCH")

    def _validate_new_version(self, request: registry_service_pb2.CreateModelVersionRequest, creator: str) -> str:
        mv = request.model_version
        violations: list[FieldViolation] = []
        if not mv.recipe or len(mv.recipe) > 100:
            violations.append(FieldViolation("model_version.recipe", "is required (at most 100 characters)"))
        if not mv.artifact_uri:
            violations.append(FieldViolation("model_version.artifact_uri", "is required"))
        if len(mv.description) > MAX_DESCRIPTION:
            violations.append(FieldViolation("model_version.description",
                                             f"must be at most {MAX_DESCRIPTION} characters"))
        for key, value in mv.hyperparameters.items():
            if not 1 <= len(key) <= 200:
                violations.append(FieldViolation(f"model_version.hyperparameters[{key!r}]", "key must be 1-200 chars"))
            if value.WhichOneof("kind") == "number_value" and not math.isfinite(value.number_value):
                violations.append(FieldViolation(f"model_version.hyperparameters[{key!r}]", "must be finite"))
        lineage = mv.lineage
        for field_name in ("snapshot", "training_job", "code_version", "base_model"):
            if len(getattr(lineage, field_name)) > 300:
                violations.append(FieldViolation(f"model_version.lineage.{field_name}", "at most 300 characters"))
        if lineage.snapshot and not lineage.snapshot.startswith("snapshots/"):
            violations.append(FieldViolation("model_version.lineage.snapshot", "must be 'snapshots/{snapshot}'"))
        if lineage.training_job and not lineage.training_job.startswith("trainingJobs/"):
            violations.append(FieldViolation("model_version.lineage.training_job",
                                             "must be 'trainingJobs/{training_job}'"))
        if violations:
            raise InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in violations),
                                  reason="INVALID_FIELD", field_violations=violations)
        if mv.artifact_uri:
            artifact_check.artifact_root(mv.artifact_uri)
        validate_fields(display_name="", description="", tags=mv.tags, prefix="model_version")
        validate_metrics(metric_values(mv.metrics))
        return validate_manifest(manifest_files(mv.manifest), mv.manifest.digest)

    # ---------------------------------------------------------------- versions

    async def CreateModelVersion(self, request: registry_service_pb2.CreateModelVersionRequest,
                                 context: grpc.aio.ServicerContext) -> MV:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        model_id = parse_model_name(request.parent, "parent")
        validate_request_id(request.request_id)
        creator = request.model_version.creator or principal.user_id
        if creator != principal.user_id and not principal.is_service:
            raise PermissionDenied("only a service may register a version on behalf of another user",
                                   reason="CREATOR_MISMATCH", metadata={"field": "model_version.creator"})
        digest = self._validate_new_version(request, creator)
        parent_version = ""
        if request.model_version.lineage.parent_version:
            parent_ref = parse_version_name(request.model_version.lineage.parent_version,
                                            "model_version.lineage.parent_version")
            async with self._db.sessions() as session:
                parent_row = await self._versions.resolve(session, parent_ref)
            parent_version = version_name(parent_row.model_id, parent_row.number)
        files = manifest_files(request.model_version.manifest)
        total = sum(f.size_bytes for f in files)
        # Small artifacts are checked inline, so the version comes back READY; big ones in the background.
        check = None
        local = request.model_version.artifact_uri.startswith("file:")
        if local and total <= min(self._sync_verify_max_bytes, ON_LOOP_CHECK_MAX_BYTES):
            check = artifact_check.check_files(request.model_version.artifact_uri, files)
        elif total <= self._sync_verify_max_bytes:
            check = await asyncio.to_thread(artifact_check.check_files, request.model_version.artifact_uri, files)
        request_hash = request_digest(request)
        pending = self._prepare_version(request, principal.user_id, model_id, creator, digest, total,
                                        parent_version, check, request_hash)
        for attempt in range(3):
            if request.request_id and attempt > 0:
                async with self._db.sessions() as session:
                    earlier = await self._requests.find(session, method=CREATE_VERSION, principal=principal.user_id,
                                                        request_id=request.request_id, digest=request_hash,
                                                        response_type=MV)
                if earlier is not None:
                    return earlier
            try:
                return await self._create_batcher.submit(pending)
            except IntegrityError:
                # The request_id was used already (a retry, or a concurrent twin that committed first): the next
                # pass looks it up and returns the first result.
                continue
        raise Aborted("concurrent registration with the same request_id; retry", reason="CONCURRENT_CREATE")

    def _prepare_version(self, request: registry_service_pb2.CreateModelVersionRequest, caller: str,
                         model_id: str, creator: str, digest: str, total: int, parent_version: str,
                         check: artifact_check.CheckResult | None, request_hash: str) -> PendingVersion:
        """Everything a new version's rows need except its number, which the batch writer assigns."""
        now = _now()
        detail = MV()
        detail.CopyFrom(request.model_version)
        for name in ("name", "uid", "version_number", "state", "error", "create_time", "update_time",
                     "archive_time", "aliases", "active_deployments", "last_verification", "etag"):
            detail.ClearField(name)
        detail.creator = creator
        detail.manifest.digest = digest
        detail.manifest.total_size_bytes = total
        detail.lineage.parent_version = parent_version
        for metric in detail.metrics:
            if not metric.HasField("measure_time"):
                metric.measure_time.FromDatetime(now)
        mv = request.model_version
        outcome = (self._registration_outcome(digest, check) if check is not None
                   else {"state": PENDING, "error": None, "verification": None, "integrity_failed": False})
        values = {
            "uid": str(uuid.uuid4()), "description": mv.description, "creator": creator, "recipe": mv.recipe,
            "architecture_family": mv.architecture.family, "artifact_uri": mv.artifact_uri,
            "manifest_digest": digest, "lineage_snapshot": mv.lineage.snapshot,
            "lineage_snapshot_digest": mv.lineage.snapshot_digest,
            "lineage_training_job": mv.lineage.training_job, "lineage_parent_version": parent_version,
            "lineage_code_version": mv.lineage.code_version, "lineage_base_model": mv.lineage.base_model,
            "detail": detail.SerializeToString(), "create_time": now, "update_time": now, "archive_time": None,
            "revision": 1, **outcome,
        }
        return PendingVersion(model_id=model_id, caller=caller, request_id=request.request_id,
                              request_hash=request_hash, values=values, searchable=searchable(detail),
                              training_job=mv.lineage.training_job)

    async def _write_versions(self, items: list[PendingVersion]) -> list[MV | BaseException]:
        """Write a batch of new versions in one transaction (numbers, rows, side rows, events, request log).

        The model rows stay locked until commit, so numbers are dense and unique under any concurrency. A
        reused request_id fails the whole batch (the request log's primary key), which the batcher then
        retries item by item so that only the reused one fails.
        """
        results: list[MV | BaseException] = [AssertionError("unwritten")] * len(items)
        written: list[tuple[int, int]] = []
        async with self._writer.batch() as batch:
            numbers = await batch.take_numbers([item.model_id for item in items])
            rows, searchables = [], []
            for i, item in enumerate(items):
                if item.model_id not in numbers:
                    results[i] = NotFound(f"model 'models/{item.model_id}' does not exist", reason="MODEL_NOT_FOUND",
                                          metadata={"name": f"models/{item.model_id}"})
                    continue
                model_uid, number = numbers[item.model_id].pop(0)
                rows.append({**item.values, "model_uid": model_uid, "number": number})
                searchables.append(item.searchable)
                written.append((i, number))
            events, logs = [], []
            for (i, number), row in zip(written, rows, strict=True):
                item = items[i]
                if row["state"] == READY:
                    events.append(self._registered_message(row["uid"], item.model_id, number, row["creator"],
                                                           item.training_job))
                # A new version has no aliases or deployments yet: its response needs no read back.
                response = version_to_proto(SimpleNamespace(model_id=item.model_id, **row), [], [])
                if item.request_id:
                    logs.append((item.caller, item.request_id, item.request_hash, response))
                results[i] = response
            ids = await batch.insert_versions(rows, searchables, also=[
                (self._outbox.table, self._outbox.rows(events)),
                (self._requests.table, self._requests.rows(method=CREATE_VERSION, entries=logs))])
        if events:
            self._outbox.notify()
        for row, version_id in zip(rows, ids, strict=True):
            if row["state"] == PENDING:
                self._verify_queue.put_nowait(version_id)
        return results

    async def GetModelVersion(self, request: registry_service_pb2.GetModelVersionRequest,
                              context: grpc.aio.ServicerContext) -> MV:
        current_principal().require_role(ROLE_READER)
        ref = parse_version_name(request.name)
        async with self._db.sessions() as session:
            return await self._proto(session, await self._versions.resolve(session, ref), request.view)

    async def GetVersionByAlias(self, request: registry_service_pb2.GetVersionByAliasRequest,
                                context: grpc.aio.ServicerContext) -> MV:
        current_principal().require_role(ROLE_READER)
        model_id = parse_model_name(request.model, "model")
        alias = validate_alias(request.alias, allow_latest=True)
        ref = parse_version_name(f"models/{model_id}@{alias}", "alias")
        async with self._db.sessions() as session:
            return await self._proto(session, await self._versions.resolve(session, ref), request.view)

    async def _page(self, *, filter_text: str, order_by: str, default_order: str, token: str, size: int,
                    view: int, method: str, model_id: str | None = None) -> tuple[list[MV], str]:
        where = compile_filter(filter_text)
        keys = parse_sort(order_by, default_order)
        query = self._tokens.fingerprint(method, model_id, filter_text, [(k.field, k.descending) for k in keys])
        after = self._tokens.decode(token, query=query)
        if after is not None:
            after = [datetime.fromisoformat(x[3:]) if isinstance(x, str) and x.startswith("ts:") else x
                     for x in after]
        async with self._db.sessions() as session:
            results = await self._versions.search(session, where, keys, after, size + 1, model_id=model_id)
            page = results[:size]
            protos = await self._protos(session, [row for row, _ in page], view or BASIC)
        next_token = ""
        if len(results) > size:
            last = [f"ts:{utc(x).isoformat()}" if isinstance(x, datetime) else x for x in page[-1][1]]
            next_token = self._tokens.encode(last, query=query)
        return protos, next_token

    async def ListModelVersions(self, request: registry_service_pb2.ListModelVersionsRequest,
                                context: grpc.aio.ServicerContext) -> registry_service_pb2.ListModelVersionsResponse:
        current_principal().require_role(ROLE_READER)
        model_id = parse_model_name(request.parent, "parent")
        size = page_size(request.page_size)
        async with self._db.sessions() as session:
            await self._versions.model_row(session, model_id)
        versions, token = await self._page(
            filter_text=request.filter, order_by=request.order_by, default_order="version desc",
            token=request.page_token, size=size, view=request.view, method="ListModelVersions", model_id=model_id)
        return registry_service_pb2.ListModelVersionsResponse(model_versions=versions, next_page_token=token)

    async def SearchModelVersions(self, request: registry_service_pb2.SearchModelVersionsRequest,
                                  context: grpc.aio.ServicerContext
                                  ) -> registry_service_pb2.SearchModelVersionsResponse:
        current_principal().require_role(ROLE_READER)
        size = page_size(request.page_size)
        versions, token = await self._page(
            filter_text=request.filter, order_by=request.order_by, default_order="create_time desc",
            token=request.page_token, size=size, view=request.view, method="SearchModelVersions")
        return registry_service_pb2.SearchModelVersionsResponse(model_versions=versions, next_page_token=token)

    async def UpdateModelVersion(self, request: registry_service_pb2.UpdateModelVersionRequest,
                                 context: grpc.aio.ServicerContext) -> MV:
        current_principal().require_role(ROLE_WRITER)
        ref = parse_version_name(request.model_version.name, "model_version.name")
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.for_field("update_mask", "must name at least one field (or '*')")
        incoming = request.model_version
        async with self._db.sessions.begin() as session:
            row = await self._versions.resolve(session, ref, for_update=True)
            self._check_etag(incoming.etag, row)
            detail = MV.FromString(row.detail)
            tags = dict(detail.tags)
            for path in paths:
                if path == "*":
                    detail.description = incoming.description
                    tags = dict(incoming.tags)
                    del detail.metrics[:]
                    detail.metrics.extend(incoming.metrics)
                elif path == "description":
                    detail.description = incoming.description
                elif path == "tags":
                    tags = dict(incoming.tags)
                elif path.startswith("tags.") and len(path) > 5:
                    key = path[5:]
                    if key in incoming.tags:
                        tags[key] = incoming.tags[key]
                    else:
                        tags.pop(key, None)
                elif path == "metrics":
                    del detail.metrics[:]
                    detail.metrics.extend(incoming.metrics)
                else:
                    raise InvalidArgument.for_field(
                        "update_mask", f"cannot update {path!r}; updatable: description, tags, tags.<key>, metrics, *")
            if len(detail.description) > MAX_DESCRIPTION:
                raise InvalidArgument.for_field("model_version.description",
                                                f"must be at most {MAX_DESCRIPTION} characters")
            validate_fields(display_name="", description="", tags=tags, prefix="model_version")
            validate_metrics(metric_values(detail.metrics))
            now = _now()
            for metric in detail.metrics:
                if not metric.HasField("measure_time"):
                    metric.measure_time.FromDatetime(now)
            detail.tags.clear()
            detail.tags.update(tags)
            await self._versions.set_state(session, row.id, description=detail.description,
                                           detail=detail.SerializeToString(), update_time=now)
            await self._versions.write_searchable(session, row.id, searchable(detail), replace=True)
            row = (await self._versions.rows_by_ids(session, [row.id]))[row.id]
            return await self._proto(session, row)

    async def ArchiveModelVersion(self, request: registry_service_pb2.ArchiveModelVersionRequest,
                                  context: grpc.aio.ServicerContext) -> MV:
        current_principal().require_role(ROLE_WRITER)
        ref = parse_version_name(request.name)
        async with self._db.sessions.begin() as session:
            row = await self._versions.resolve(session, ref, for_update=True)
            self._check_etag(request.etag, row)
            if row.state == ARCHIVED:
                return await self._proto(session, row)
            if row.state != READY:
                raise FailedPrecondition(f"only a READY version can be archived (it is {MV.State.Name(row.state)})",
                                         reason="VERSION_NOT_READY")
            alias_count, deployed = await self._versions.count_referencing(session, [row.id])
            if alias_count:
                raise FailedPrecondition("the version is the target of an alias; move the alias first",
                                         reason="VERSION_ALIASED")
            if deployed:
                raise FailedPrecondition("the version has an active deployment", reason="VERSION_DEPLOYED")
            now = _now()
            await self._versions.set_state(session, row.id, state=ARCHIVED, archive_time=now, update_time=now)
            row = (await self._versions.rows_by_ids(session, [row.id]))[row.id]
            return await self._proto(session, row)

    async def UnarchiveModelVersion(self, request: registry_service_pb2.UnarchiveModelVersionRequest,
                                    context: grpc.aio.ServicerContext) -> MV:
        current_principal().require_role(ROLE_WRITER)
        ref = parse_version_name(request.name, allow_alias=False)
        async with self._db.sessions.begin() as session:
            row = await self._versions.resolve(session, ref, for_update=True)
            self._check_etag(request.etag, row)
            if row.state == ARCHIVED:
                await self._versions.set_state(session, row.id, state=READY, archive_time=None)
                row = (await self._versions.rows_by_ids(session, [row.id]))[row.id]
            elif row.state != READY:
                raise FailedPrecondition(f"the version is {MV.State.Name(row.state)}, not ARCHIVED",
                                         reason="VERSION_NOT_ARCHIVED")
            return await self._proto(session, row)

    async def DeleteModelVersion(self, request: registry_service_pb2.DeleteModelVersionRequest,
                                 context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        if request.force:
            principal.require_role(ROLE_ADMIN)
        ref = parse_version_name(request.name)
        async with self._db.sessions.begin() as session:
            row = await self._versions.resolve(session, ref, for_update=True)
            self._check_etag(request.etag, row)
            alias_count, deployed = await self._versions.count_referencing(session, [row.id])
            if not request.force and alias_count:
                raise FailedPrecondition("the version is the target of an alias; move or delete the alias first",
                                         reason="VERSION_ALIASED")
            if not request.force and deployed:
                raise FailedPrecondition("the version has an active deployment", reason="VERSION_DEPLOYED")
            name = version_name(row.model_id, row.number)
            for alias in (await self._versions.aliases_of(session, [row.id]))[row.id]:
                await self._emit(session, key=f"alias:{uuid.uuid4()}", model_id=row.model_id,
                                 actor=principal.user_id,
                                 alias_moved={"alias": alias, "previous_version": name, "new_version": ""})
            await session.execute(delete(aliases).where(aliases.c.version_id == row.id))
            await session.execute(delete(model_versions).where(model_versions.c.id == row.id))
            await self._emit(session, key=f"deleted:{row.uid}", model_id=row.model_id, actor=principal.user_id,
                             deleted={"resource": name, "forced": request.force})
        return empty_pb2.Empty()

    async def GetVersionDownload(self, request: registry_service_pb2.GetVersionDownloadRequest,
                                 context: grpc.aio.ServicerContext
                                 ) -> registry_service_pb2.GetVersionDownloadResponse:
        current_principal().require_role(ROLE_READER)
        ref = parse_version_name(request.name)
        async with self._db.sessions() as session:
            row = await self._versions.resolve(session, ref)
        if row.state not in (READY, ARCHIVED):
            raise FailedPrecondition(f"the version is {MV.State.Name(row.state)}; only READY or ARCHIVED versions "
                                     "can be downloaded", reason="VERSION_NOT_READY")
        if row.integrity_failed:
            raise FailedPrecondition("the version's last verification failed; its files no longer match the "
                                     "manifest", reason="VERSION_INTEGRITY_FAILED")
        detail = MV.FromString(row.detail)
        response = registry_service_pb2.GetVersionDownloadResponse(
            model_version=version_name(row.model_id, row.number), artifact_uri=row.artifact_uri,
            manifest=detail.manifest)
        for f in detail.manifest.files:
            response.files.add(path=f.path, uri=artifact_check.file_uri(row.artifact_uri, f.path),
                               size_bytes=f.size_bytes, sha256=f.sha256)
        return response

    async def VerifyVersion(self, request: registry_service_pb2.VerifyVersionRequest,
                            context: grpc.aio.ServicerContext) -> registry_service_pb2.VerifyVersionResponse:
        current_principal().require_role(ROLE_WRITER)
        ref = parse_version_name(request.name)
        async with self._db.sessions() as session:
            row = await self._versions.resolve(session, ref)
        if row.state == PENDING:
            raise FailedPrecondition("the version is still being registered", reason="VERSION_NOT_READY")
        detail = MV.FromString(row.detail)
        result = await asyncio.to_thread(artifact_check.check_files, row.artifact_uri, manifest_files(detail.manifest))
        verification = verification_proto(result, row.manifest_digest)
        async with self._db.sessions.begin() as session:
            await self._versions.set_state(session, row.id, verification=verification.SerializeToString(),
                                           integrity_failed=bool(result.mismatches))
            row = (await self._versions.rows_by_ids(session, [row.id]))[row.id]
            version = await self._proto(session, row, BASIC)
        if result.mismatches:
            _log.warning("version_integrity_failed", version=version.name, mismatches=len(result.mismatches))
        return registry_service_pb2.VerifyVersionResponse(verification=verification, model_version=version)

    # ---------------------------------------------------------------- aliases

    async def SetAlias(self, request: registry_service_pb2.SetAliasRequest,
                       context: grpc.aio.ServicerContext) -> registry_service_pb2.SetAliasResponse:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        model_id = parse_model_name(request.model, "model")
        alias = validate_alias(request.alias)
        target = parse_version_name(request.version, "version")
        if target.model_id != model_id:
            raise InvalidArgument.for_field("version", f"belongs to another model than {request.model!r}",
                                            reason="VERSION_OF_OTHER_MODEL")
        async with self._db.sessions.begin() as session:
            model = await self._versions.model_row(session, model_id, for_update=True)
            row = await self._versions.resolve(session, target)
            if row.state != READY:
                raise FailedPrecondition(f"only a READY version can carry an alias (it is "
                                         f"{MV.State.Name(row.state)})", reason="VERSION_NOT_READY")
            existing = await self._versions.alias_row(session, model.uid, alias)
            now = _now()
            previous = ""
            if existing is not None:
                previous_row = (await self._versions.rows_by_ids(session, [existing.version_id]))[existing.version_id]
                previous = version_name(previous_row.model_id, previous_row.number)
                if existing.version_id == row.id:
                    return self._alias_response(model_id, alias, row, utc(existing.update_time), existing.updater,
                                                previous)
                await session.execute(update(aliases).where(
                    aliases.c.model_uid == model.uid, aliases.c.alias == alias).values(
                    version_id=row.id, update_time=now, updater=principal.user_id))
            else:
                await session.execute(insert(aliases).values(model_uid=model.uid, alias=alias, version_id=row.id,
                                                             update_time=now, updater=principal.user_id))
            await self._emit(session, key=f"alias:{uuid.uuid4()}", model_id=model_id, actor=principal.user_id,
                             alias_moved={"alias": alias, "previous_version": previous,
                                          "new_version": version_name(model_id, row.number)})
            return self._alias_response(model_id, alias, row, now, principal.user_id, previous)

    @staticmethod
    def _alias_response(model_id: str, alias: str, row: Row, when: datetime, updater: str,
                        previous: str) -> registry_service_pb2.SetAliasResponse:
        response = registry_service_pb2.SetAliasResponse(
            alias=model_pb2.ModelAlias(alias=alias, version=version_name(model_id, row.number), updater=updater),
            previous_version=previous)
        response.alias.update_time.FromDatetime(when)
        return response

    async def DeleteAlias(self, request: registry_service_pb2.DeleteAliasRequest,
                          context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        model_id = parse_model_name(request.model, "model")
        alias = validate_alias(request.alias)
        async with self._db.sessions.begin() as session:
            model = await self._versions.model_row(session, model_id, for_update=True)
            existing = await self._versions.alias_row(session, model.uid, alias)
            if existing is None:
                raise NotFound(f"'models/{model_id}@{alias}' does not exist", reason="ALIAS_NOT_FOUND")
            previous_row = (await self._versions.rows_by_ids(session, [existing.version_id]))[existing.version_id]
            await session.execute(delete(aliases).where(aliases.c.model_uid == model.uid, aliases.c.alias == alias))
            await self._emit(session, key=f"alias:{uuid.uuid4()}", model_id=model_id, actor=principal.user_id,
                             alias_moved={"alias": alias, "new_version": "",
                                          "previous_version": version_name(model_id, previous_row.number)})
        return empty_pb2.Empty()

    # ---------------------------------------------------------------- compare

    async def CompareModelVersions(self, request: registry_service_pb2.CompareModelVersionsRequest,
                                   context: grpc.aio.ServicerContext
                                   ) -> registry_service_pb2.CompareModelVersionsResponse:
        current_principal().require_role(ROLE_READER)
        if not 2 <= len(request.names) <= MAX_COMPARE:
            raise InvalidArgument.for_field("names", f"must name 2 to {MAX_COMPARE} versions")
        refs = [parse_version_name(name, f"names[{i}]") for i, name in enumerate(request.names)]
        async with self._db.sessions() as session:
            rows = [await self._versions.resolve(session, ref) for ref in refs]
            versions = await self._protos(session, rows, BASIC)
        details = [MV.FromString(row.detail) for row in rows]
        metrics = compare_metrics([{m.key: m for m in metric_values(d.metrics)} for d in details],
                                  list(request.metric_keys))
        response = registry_service_pb2.CompareModelVersionsResponse(model_versions=versions)
        for key, cells in metrics.items():
            row_msg = response.metrics.add(key=key)
            for cell in cells:
                out = row_msg.values.add(step=cell.step, split=cell.split)
                for name in ("value", "delta", "relative_delta"):
                    if getattr(cell, name) is not None:
                        setattr(out, name, getattr(cell, name))
        params = differences([{k: v for k, v in d.hyperparameters.items()} for d in details])
        for key, column in params.items():
            response.hyperparameter_differences.add(field=key, values=[value_of(x) for x in column])
        arch = differences([
            {"recipe": d.recipe, "architecture.family": d.architecture.family or None,
             "architecture.parameter_count": d.architecture.parameter_count or None,
             **{f"architecture.config.{k}": val for k, val in d.architecture.config.fields.items()}}
            for d in details])
        for key, column in arch.items():
            response.architecture_differences.add(field=key, values=[plain(x) for x in column])
        lineage = differences([
            {f"lineage.{f}": getattr(d.lineage, f) or None for f in
             ("snapshot", "snapshot_digest", "training_job", "parent_version", "code_version", "base_model")}
            for d in details])
        for key, column in lineage.items():
            response.lineage_differences.add(field=key, values=[plain(x) for x in column])
        return response

    # ---------------------------------------------------------------- deployment records

    async def RecordDeployment(self, request: registry_service_pb2.RecordDeploymentRequest,
                               context: grpc.aio.ServicerContext) -> version_deployment_pb2.VersionDeployment:
        principal = current_principal()
        if not (principal.is_service or principal.is_admin):
            raise PermissionDenied("only the deployer service or an admin records deployments",
                                   reason="SERVICE_REQUIRED", metadata={"roles": f"{ROLE_SERVICE},{ROLE_ADMIN}"})
        ref = parse_version_name(request.parent, "parent")
        record = request.version_deployment
        violations: list[FieldViolation] = []
        if not DEPLOYMENT_RE.match(record.deployment):
            violations.append(FieldViolation("version_deployment.deployment", "must be 'deployments/{deployment}'"))
        if not record.target or len(record.target) > 100:
            violations.append(FieldViolation("version_deployment.target", "is required (at most 100 characters)"))
        if record.state == VD.STATE_UNSPECIFIED or record.state not in VD.State.values():
            violations.append(FieldViolation("version_deployment.state", "must be set"))
        if not 0 <= record.traffic_percent <= 100:
            violations.append(FieldViolation("version_deployment.traffic_percent", "must be within 0..100"))
        if not record.HasField("event_time"):
            violations.append(FieldViolation("version_deployment.event_time", "is required"))
        if violations:
            raise InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in violations),
                                  reason="INVALID_FIELD", field_violations=violations)
        event_time = record.event_time.ToDatetime(tzinfo=UTC)
        d = version_deployments
        values = {"target": record.target, "endpoint": record.endpoint, "revision": record.revision,
                  "state": record.state, "traffic_percent": record.traffic_percent,
                  "actor": record.actor or principal.user_id, "message": record.message[:4000],
                  "event_time": event_time}
        for attempt in range(2):
            try:
                async with self._db.sessions.begin() as session:
                    row = await self._versions.resolve(session, ref)
                    key = and_(d.c.version_id == row.id, d.c.deployment == record.deployment)
                    stored = (await session.execute(select(d).where(key).with_for_update())).first()
                    now = _now()
                    if stored is None:
                        await session.execute(insert(d).values(version_id=row.id, deployment=record.deployment,
                                                               create_time=now, update_time=now, **values))
                    elif utc(stored.event_time) < event_time:
                        await session.execute(update(d).where(key).values(update_time=now, **values))
                    stored = (await session.execute(select(d).where(key))).one()
                    return deployment_to_proto(stored, row.model_id, row.number)
            except IntegrityError:
                if attempt == 1:
                    raise Aborted("concurrent report for the same deployment; retry", reason="CONCURRENT_UPDATE") \
                        from None
        raise AssertionError("unreachable")

    async def ListVersionDeployments(self, request: registry_service_pb2.ListVersionDeploymentsRequest,
                                     context: grpc.aio.ServicerContext
                                     ) -> registry_service_pb2.ListVersionDeploymentsResponse:
        current_principal().require_role(ROLE_READER)
        ref = parse_version_name(request.parent, "parent")
        size = page_size(request.page_size)
        d = version_deployments
        columns = {"deployment": d.c.deployment, "create_time": d.c.create_time, "update_time": d.c.update_time,
                   "event_time": d.c.event_time}
        keys = parse_order_by(request.order_by, list(columns), default="update_time desc")
        if keys[-1].field != "deployment":
            keys.append(type(keys[0])("deployment", keys[-1].descending))
        where = self._deployment_filter(request.filter)
        query = self._tokens.fingerprint("ListVersionDeployments", request.parent, request.filter,
                                         [(k.field, k.descending) for k in keys])
        after = self._tokens.decode(request.page_token, query=query)
        async with self._db.sessions() as session:
            row = await self._versions.resolve(session, ref)
            statement = select(d).where(d.c.version_id == row.id)
            if where is not None:
                statement = statement.where(where)
            if after is not None:
                values = [datetime.fromisoformat(x) if k.field.endswith("_time") else x for k, x in zip(keys, after,
                                                                                                       strict=True)]
                statement = statement.where(keyset_after(columns, keys, values))
            records = (await session.execute(statement.order_by(*order_clauses(columns, keys)).limit(size + 1))).all()
        response = registry_service_pb2.ListVersionDeploymentsResponse(
            version_deployments=[deployment_to_proto(r, row.model_id, row.number) for r in records[:size]])
        if len(records) > size:
            last = records[size - 1]
            response.next_page_token = self._tokens.encode(
                [utc(getattr(last, k.field)).isoformat() if k.field.endswith("_time") else getattr(last, k.field)
                 for k in keys], query=query)
        return response

    @staticmethod
    def _deployment_filter(text: str) -> Any:
        expr = parse_filter(text, fields=DEPLOYMENT_FIELDS, keyed={})
        if expr is None:
            return None
        d = version_deployments

        def compile_(node: Any) -> Any:
            if isinstance(node, BoolOp):
                parts = [compile_(item) for item in node.items]
                return and_(*parts) if node.op == "AND" else or_(*parts)
            values: list[Any] = list(node.values)
            if node.field == "state":
                names = [str(x).upper() for x in values]
                names = [n if n.startswith("STATE_") else f"STATE_{n}" for n in names]
                bad = [n for n in names if n not in VD.State.keys() or n == "STATE_UNSPECIFIED"]
                if bad:
                    raise InvalidArgument.for_field("filter", f"unknown deployment state {bad[0]!r}",
                                                    reason="INVALID_FILTER")
                values = [VD.State.Value(n) for n in names]
            elif node.field.endswith("_time"):
                try:
                    values = [datetime.fromisoformat(str(x).replace("Z", "+00:00")) for x in values]
                except ValueError:
                    raise InvalidArgument.for_field("filter", f"{values[0]!r} is not an RFC 3339 timestamp",
                                                    reason="INVALID_FILTER") from None
            return compare(getattr(d.c, node.field), node.op, tuple(values))

        return compile_(expr)

