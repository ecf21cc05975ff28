"""The DeployerService servicer: validates requests, records deployments and revisions, starts rollouts."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from sqlalchemy.exc import IntegrityError

from lathe.deployer.v1 import (
    deployer_service_pb2 as ds,
)
from lathe.deployer.v1 import (
    deployer_service_pb2_grpc,
    deployment_pb2,
    deployment_revision_pb2,
)
from lathe.history.v1 import lifecycle_event_pb2
from lathe.kit.auth import ROLE_READER, ROLE_WRITER, current_principal
from lathe.kit.db import Database
from lathe.kit.errors import Aborted, AlreadyExists, FailedPrecondition, InvalidArgument, Unimplemented
from lathe.kit.idempotency import RequestLog, request_digest, validate_request_id
from lathe.kit.pagination import PageTokenCodec, page_size
from lathe.registry.v1 import model_version_pb2
from services.deployer.adapters.listing import deployment_query, revision_query
from services.deployer.adapters.repository import DeploymentRepository, etag_of, number_of
from services.deployer.adapters.serving import ServingTable
from services.deployer.adapters.tables import request_log
from services.deployer.api.rollouts import TARGET_NAMES, Rollouts, stamp
from services.deployer.domain import deployments as rules

D = deployment_pb2.Deployment
R = deployment_revision_pb2.DeploymentRevision
MV = model_version_pb2.ModelVersion
_SERVICE = "/lathe.deployer.v1.DeployerService/"
_MEMBER = {D.TARGET_LOCAL: "local", D.TARGET_KUBERNETES: "kubernetes", D.TARGET_HUGGINGFACE: "huggingface",
           D.TARGET_ONNX: "onnx", D.TARGET_OLLAMA: "ollama"}
_UPDATABLE = ("model_version", "options", "canary.traffic_percent", "health_check_config", "labels")


def _validate_options(d: D, field: str = "deployment", min_health_period: float = 5.0) -> None:
    member = d.options.WhichOneof("options")
    if member is not None and member != _MEMBER[d.target]:
        raise InvalidArgument.for_field(f"{field}.options", f"sets {member!r} but the target is "
                                        f"{_MEMBER[d.target]!r}")
    batching = None
    if member == "local":
        batching = d.options.local.batching
    elif member == "kubernetes":
        batching = d.options.kubernetes.batching
        rules.validate_image(d.options.kubernetes.image, f"{field}.options.kubernetes.image")
        if d.options.kubernetes.replicas < 0 or d.options.kubernetes.gpu_count < 0:
            raise InvalidArgument.for_field(f"{field}.options.kubernetes", "replicas and gpu_count must be >= 0")
    elif member == "huggingface" and d.options.huggingface.hub_repo_id:
        raise Unimplemented("pushing to the Hugging Face Hub is not implemented yet; leave hub_repo_id empty "
                            "and upload the exported directory yourself", reason="HUB_PUSH_UNIMPLEMENTED")
    elif member == "onnx" and d.options.onnx.max_abs_diff < 0:
        raise InvalidArgument.for_field(f"{field}.options.onnx.max_abs_diff", "must not be negative")
    elif member == "onnx" and d.options.onnx.opset_version and not 9 <= d.options.onnx.opset_version <= 21:
        raise InvalidArgument.for_field(f"{field}.options.onnx.opset_version", "must be between 9 and 21")
    if batching is not None:
        delay = batching.max_queue_delay.ToTimedelta().total_seconds()
        rules.validate_batching(batching.max_batch_size, delay, f"{field}.options.{member}.batching")
    hc = d.health_check_config
    rules.validate_health_timing(hc.timeout.ToTimedelta().total_seconds() if hc.HasField("timeout") else None,
                                 hc.period.ToTimedelta().total_seconds() if hc.HasField("period") else None,
                                 f"{field}.health_check_config", min_health_period)
    if len(hc.probe_text) > 4096:
        raise InvalidArgument.for_field(f"{field}.health_check_config.probe_text", "must be at most 4,096 characters")
    rules.validate_labels(dict(d.labels), f"{field}.labels")


class DeployerServicer(deployer_service_pb2_grpc.DeployerServiceServicer):
    """Serves ``lathe.deployer.v1.DeployerService`` from the deployer database."""

    def __init__(self, db: Database, rollouts: Rollouts, table: ServingTable, *,
                 page_tokens: PageTokenCodec | None = None, min_health_period: float = 5.0) -> None:
        self._db = db
        self._min_health_period = min_health_period
        self._rollouts = rollouts
        self._table = table
        self._repo = DeploymentRepository()
        self._requests = RequestLog(request_log)
        self._tokens = page_tokens or PageTokenCodec(b"lathe-deployer-page-token")

    # ------------------------------------------------------------------ helpers

    async def _earlier(self, method: str, principal: str, request: Any, response_type: type) -> Any:
        if not request.request_id:
            return None
        async with self._db.sessions() as session:
            return await self._requests.find(session, method=_SERVICE + method, principal=principal,
                                             request_id=request.request_id, digest=request_digest(request),
                                             response_type=response_type)

    async def _remember(self, session: Any, method: str, principal: str, request: Any, response: Any) -> None:
        if request.request_id:
            await self._requests.remember(session, method=_SERVICE + method, principal=principal,
                                          request_id=request.request_id, digest=request_digest(request),
                                          response=response)

    async def _resolve(self, ref: rules.ModelRef, target: int, field: str) -> tuple[MV, str]:
        version = await self._rollouts.registry_version(ref.name)
        if version.state not in (MV.STATE_READY, MV.STATE_ARCHIVED):
            raise FailedPrecondition(f"{version.name} is not ready to deploy (state "
                                     f"{MV.State.Name(version.state)})", reason="VERSION_NOT_READY",
                                     metadata={"model_version": version.name})
        if not version.artifact_uri:
            raise FailedPrecondition(f"{version.name} has no artifact", reason="VERSION_HAS_NO_ARTIFACT")
        kind = rules.model_kind(version.recipe, version.name)
        rules.check_target_takes(_MEMBER[target], kind, version.architecture.family, version.name)
        return version, kind

    @staticmethod
    def _revision(d: D, number: int, version: MV, requested: str, trigger: int, creator: str, reason: str = "",
                  source: str = "", options: Any = None) -> R:
        r = R(name=rules.revision_name(d.name.split("/")[1], number), revision_number=number,
              model_version=version.name, requested_model_version=requested, state=R.STATE_PENDING,
              trigger=trigger, creator=creator, reason=reason, source_revision=source,
              artifact_sha256=version.manifest.digest.removeprefix("sha256:"))
        r.options.CopyFrom(options if options is not None else d.options)
        stamp(r.create_time)
        return r

    # ------------------------------------------------------------------ create / read

    async def CreateDeployment(self, request: ds.CreateDeploymentRequest,
                               context: grpc.aio.ServicerContext) -> D:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        validate_request_id(request.request_id)
        given = request.deployment
        if given.target == D.TARGET_UNSPECIFIED or given.target not in _MEMBER:
            raise InvalidArgument.for_field("deployment.target", "must be set (LOCAL, KUBERNETES, HUGGINGFACE, "
                                            "ONNX or OLLAMA)")
        ref = rules.parse_model_ref(given.model_version)
        if given.HasField("canary"):
            raise InvalidArgument.for_field("deployment.canary", "a new deployment has no canary; set it in an "
                                            "update that rolls forward")
        _validate_options(given, min_health_period=self._min_health_period)
        deployment_id = request.deployment_id
        if deployment_id:
            rules.validate_deployment_id(deployment_id)
        if (first := await self._earlier("CreateDeployment", principal.user_id, request, D)) is not None:
            return first
        version, kind = await self._resolve(ref, given.target, "deployment.model_version")
        if not deployment_id:
            deployment_id = f"{ref.model.replace('_', '-').replace('.', '-')[:50].strip('-')}-{uuid.uuid4().hex[:6]}"
            if not deployment_id[0].isalpha():
                deployment_id = "d-" + deployment_id[:60]
        d = D(name=f"deployments/{deployment_id}", uid=str(uuid.uuid4()), model_version=given.model_version,
              target=given.target, state=D.STATE_PENDING, creator=principal.user_id, labels=dict(given.labels),
              pending_revision=rules.revision_name(deployment_id, 1))
        d.options.CopyFrom(given.options)
        if not d.options.WhichOneof("options"):
            getattr(d.options, _MEMBER[d.target]).SetInParent()
        d.health_check_config.CopyFrom(given.health_check_config)
        stamp(d.create_time)
        d.update_time.CopyFrom(d.create_time)
        first_revision = self._revision(d, 1, version, given.model_version, R.TRIGGER_CREATE, principal.user_id)
        if request.validate_only:
            return d
        try:
            async with self._db.sessions.begin() as session:
                if await self._repo.exists(session, deployment_id):
                    raise AlreadyExists(f"deployment '{d.name}' already exists", reason="DEPLOYMENT_ALREADY_EXISTS",
                                        metadata={"name": d.name})
                await self._repo.insert(session, d, first_revision)
                d.etag = (await self._repo.get(session, deployment_id))[0].etag
                await self._remember(session, "CreateDeployment", principal.user_id, request, d)
        except IntegrityError:
            if (first := await self._earlier("CreateDeployment", principal.user_id, request, D)) is not None:
                return first
            raise AlreadyExists(f"deployment '{d.name}' already exists", reason="DEPLOYMENT_ALREADY_EXISTS") from None
        self._rollouts.start(deployment_id, 1, kind, 0)
        return d

    async def GetDeployment(self, request: ds.GetDeploymentRequest, context: grpc.aio.ServicerContext) -> D:
        current_principal().require_role(ROLE_READER)
        deployment_id = rules.parse_deployment_name(request.name)
        async with self._db.sessions() as session:
            return (await self._repo.get(session, deployment_id))[0]

    async def ListDeployments(self, request: ds.ListDeploymentsRequest,
                              context: grpc.aio.ServicerContext) -> ds.ListDeploymentsResponse:
        current_principal().require_role(ROLE_READER)
        size = page_size(request.page_size)
        query = deployment_query(request.filter, request.order_by)
        fingerprint = self._tokens.fingerprint("ListDeployments", request.filter, query.canonical)
        after = self._tokens.decode(request.page_token, query=fingerprint)
        async with self._db.sessions() as session:
            rows = await self._repo.page(session, query.table, query.columns, query.keys, after, size + 1, query.where)
        response = ds.ListDeploymentsResponse()
        for row in rows[:size]:
            d = D.FromString(row.detail)
            d.etag = etag_of(d.uid, row.generation)
            response.deployments.append(d)
        if len(rows) > size:
            response.next_page_token = self._tokens.encode(query.key_of(rows[size - 1]), query=fingerprint)
        return response

    async def GetDeploymentRevision(self, request: ds.GetDeploymentRevisionRequest,
                                    context: grpc.aio.ServicerContext) -> R:
        current_principal().require_role(ROLE_READER)
        deployment_id, number = rules.parse_revision_name(request.name)
        async with self._db.sessions() as session:
            await self._repo.get(session, deployment_id)
            return await self._repo.get_revision(session, deployment_id, number)

    async def ListDeploymentRevisions(self, request: ds.ListDeploymentRevisionsRequest,
                                      context: grpc.aio.ServicerContext) -> ds.ListDeploymentRevisionsResponse:
        current_principal().require_role(ROLE_READER)
        deployment_id = None if request.parent == "deployments/-" else rules.parse_deployment_name(
            request.parent, "parent")
        size = page_size(request.page_size)
        query = revision_query(deployment_id, request.filter, request.order_by)
        fingerprint = self._tokens.fingerprint("ListDeploymentRevisions", request.parent, request.filter,
                                               query.canonical)
        after = self._tokens.decode(request.page_token, query=fingerprint)
        async with self._db.sessions() as session:
            if deployment_id is not None:
                await self._repo.get(session, deployment_id)
            rows = await self._repo.page(session, query.table, query.columns, query.keys, after, size + 1, query.where)
        response = ds.ListDeploymentRevisionsResponse(
            deployment_revisions=[R.FromString(r.detail) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = self._tokens.encode(query.key_of(rows[size - 1]), query=fingerprint)
        return response

    # ------------------------------------------------------------------ changes

    async def _new_revision(self, d: D, generation: int, next_revision: int, session: Any, *, version: MV,
                            requested: str, trigger: int, creator: str, reason: str, source: str = "",
                            options: Any = None) -> tuple[D, int]:
        deployment_id = d.name.split("/")[1]
        r = self._revision(d, next_revision, version, requested, trigger, creator, reason, source, options)
        await self._repo.insert_revision(session, deployment_id, r)
        d.pending_revision = r.name
        d.state = D.STATE_PENDING
        d.ClearField("error")
        stamp(d.update_time)
        saved = await self._repo.save(session, d, generation=generation, next_revision=next_revision + 1)
        return saved, next_revision

    async def UpdateDeployment(self, request: ds.UpdateDeploymentRequest, context: grpc.aio.ServicerContext) -> D:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        deployment_id = rules.parse_deployment_name(request.deployment.name, "deployment.name")
        paths = list(request.update_mask.paths)
        if not paths or "*" in paths:
            raise InvalidArgument.for_field("update_mask", "must name the fields to update (not empty, not '*')")
        for path in paths:
            if path == "target":
                raise InvalidArgument.for_field("update_mask", "target is immutable; create a new deployment")
            if not any(path == p or path.startswith(p + ".") for p in _UPDATABLE):
                raise InvalidArgument.for_field("update_mask", f"{path!r} cannot be updated; allowed: "
                                                f"{', '.join(_UPDATABLE)}")
        rules.validate_reason(request.reason)
        validate_request_id(request.request_id)
        if (first := await self._earlier("UpdateDeployment", principal.user_id, request, D)) is not None:
            return first
        rolls = any(p == "model_version" or p == "options" or p.startswith("options.") for p in paths)
        canary = "canary.traffic_percent" in paths
        if canary:
            rules.validate_canary_percent(request.deployment.canary.traffic_percent)
        version = kind = None
        if rolls and "model_version" in paths:
            ref = rules.parse_model_ref(request.deployment.model_version)
        async with self._rollouts.lock(deployment_id):
            async with self._db.sessions.begin() as session:
                d, generation, next_revision = await self._repo.get(session, deployment_id, for_update=True)
            if request.deployment.etag and request.deployment.etag != d.etag:
                raise Aborted(f"'{d.name}' has changed since it was read (etag mismatch)", reason="ETAG_MISMATCH")
            if d.state == D.STATE_DELETING:
                raise FailedPrecondition(f"'{d.name}' is being deleted", reason="DEPLOYMENT_DELETING")
            if rolls and self._rollouts.in_progress(deployment_id):
                raise FailedPrecondition(f"a rollout of '{d.name}' is in progress; wait for it or roll it back",
                                         reason="ROLLOUT_IN_PROGRESS")
            if canary and rolls and d.target != D.TARGET_LOCAL:
                raise InvalidArgument.for_field("deployment.canary.traffic_percent",
                                                "canaries split served traffic; only the local target serves here")
            if canary and not rolls and not d.HasField("canary"):
                raise FailedPrecondition(f"'{d.name}' has no canary to adjust", reason="NO_CANARY")
            if canary and rolls and not d.current_revision:
                raise FailedPrecondition(f"'{d.name}' has no serving revision for a canary to share traffic with",
                                         reason="NO_CURRENT_REVISION")
            updated = D()
            updated.CopyFrom(d)
            for path in paths:
                if path == "model_version":
                    updated.model_version = request.deployment.model_version
                elif path == "options" or path.startswith("options."):
                    updated.options.CopyFrom(request.deployment.options)
                elif path == "health_check_config":
                    updated.health_check_config.CopyFrom(request.deployment.health_check_config)
                elif path == "labels":
                    updated.labels.clear()
                    updated.labels.update(request.deployment.labels)
            _validate_options(updated, min_health_period=self._min_health_period)
            if rolls:
                ref = rules.parse_model_ref(updated.model_version)
                version, kind = await self._resolve(ref, d.target, "deployment.model_version")
            if request.validate_only:
                return updated
            async with self._db.sessions.begin() as session:
                d, generation, next_revision = await self._repo.get(session, deployment_id, for_update=True)
                if canary and not rolls:
                    updated.canary.traffic_percent = request.deployment.canary.traffic_percent
                    self._table.set_canary_percent(deployment_id, updated.canary.traffic_percent)
                    number = number_of(updated.canary.revision)
                    r = await self._repo.get_revision(session, deployment_id, number or 0)
                    await self._rollouts.emit_registry(session, updated, number or 0, r.model_version, 2,
                                                       updated.canary.traffic_percent, principal.user_id)
                stamp(updated.update_time)
                if rolls:
                    assert version is not None
                    saved, number = await self._new_revision(
                        updated, generation, next_revision, session, version=version,
                        requested=updated.model_version, trigger=R.TRIGGER_UPDATE, creator=principal.user_id,
                        reason=request.reason)
                else:
                    saved = await self._repo.save(session, updated, generation=generation)
                await self._remember(session, "UpdateDeployment", principal.user_id, request, saved)
        if rolls:
            assert kind is not None
            share = request.deployment.canary.traffic_percent if canary else 0
            self._rollouts.start(deployment_id, number, kind, share)
        return saved

    async def RollbackDeployment(self, request: ds.RollbackDeploymentRequest,
                                 context: grpc.aio.ServicerContext) -> D:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        deployment_id = rules.parse_deployment_name(request.name)
        named = None
        if request.revision:
            owner, named = rules.parse_revision_name(request.revision, "revision")
            if owner != deployment_id:
                raise InvalidArgument.for_field("revision", f"{request.revision!r} belongs to another deployment")
        rules.validate_reason(request.reason)
        validate_request_id(request.request_id)
        if (first := await self._earlier("RollbackDeployment", principal.user_id, request, D)) is not None:
            return first
        cancel = False
        start: tuple[int, str] | None = None
        async with self._rollouts.lock(deployment_id):
            async with self._db.sessions.begin() as session:
                d, generation, next_revision = await self._repo.get(session, deployment_id, for_update=True)
                if request.etag and request.etag != d.etag:
                    raise Aborted(f"'{d.name}' has changed since it was read (etag mismatch)", reason="ETAG_MISMATCH")
                if d.state == D.STATE_DELETING:
                    raise FailedPrecondition(f"'{d.name}' is being deleted", reason="DEPLOYMENT_DELETING")
                if named is None and d.HasField("canary"):
                    d = await self._withdraw_canary(session, d, generation, principal.user_id, request.reason)
                elif named is None and self._rollouts.in_progress(deployment_id):
                    cancel = True
                else:
                    if named is None:
                        current = number_of(d.current_revision) or next_revision
                        source = await self._repo.previous_healthy(session, deployment_id, current)
                        if source is None:
                            raise FailedPrecondition(f"'{d.name}' has no earlier revision that served and was "
                                                     "superseded", reason="NO_HEALTHY_REVISION")
                    else:
                        source = await self._repo.get_revision(session, deployment_id, named)
                        if source.name == d.current_revision:
                            raise FailedPrecondition(f"{source.name} is already the current revision",
                                                     reason="REVISION_IS_CURRENT")
                        if source.health_check.outcome != source.health_check.OUTCOME_PASSED:
                            raise FailedPrecondition(f"{source.name} never passed its health check",
                                                     reason="REVISION_NEVER_HEALTHY")
                    if self._rollouts.in_progress(deployment_id):
                        raise FailedPrecondition(f"a rollout of '{d.name}' is in progress; roll back without a "
                                                 "revision to cancel it first", reason="ROLLOUT_IN_PROGRESS")
                    version = await self._rollouts.registry_version(source.model_version)
                    kind = rules.model_kind(version.recipe, version.name)
                    d, number = await self._new_revision(
                        d, generation, next_revision, session, version=version,
                        requested=source.requested_model_version or source.model_version,
                        trigger=R.TRIGGER_ROLLBACK, creator=principal.user_id, reason=request.reason,
                        source=source.name, options=source.options)
                    start = (number, kind)
                if not cancel:
                    await self._remember(session, "RollbackDeployment", principal.user_id, request, d)
        if cancel:
            await self._rollouts.cancel(deployment_id)
            async with self._db.sessions.begin() as session:
                d = (await self._repo.get(session, deployment_id))[0]
                await self._remember(session, "RollbackDeployment", principal.user_id, request, d)
        if start is not None:
            self._rollouts.start(deployment_id, start[0], start[1], 0)
        return d

    async def _withdraw_canary(self, session: Any, d: D, generation: int, actor: str, reason: str) -> D:
        deployment_id = d.name.split("/")[1]
        number = number_of(d.canary.revision) or 0
        r = await self._repo.get_revision(session, deployment_id, number)
        r.state = R.STATE_ROLLED_BACK
        stamp(r.serve_end_time)
        await self._repo.save_revision(session, deployment_id, r)
        self._table.set_canary(deployment_id, None)
        d.ClearField("canary")
        stamp(d.update_time)
        saved = await self._repo.save(session, d, generation=generation)
        await self._rollouts.emit_registry(session, d, number, r.model_version, 4, 0, actor, "canary withdrawn")
        await self._rollouts.emit_history(session, r.model_version, actor, rolled_back=lifecycle_event_pb2
                                          .LifecycleEvent.RolledBack(deployment=d.name, from_version=r.model_version,
                                                                     to_version=d.resolved_model_version,
                                                                     to_revision=d.current_revision, reason=reason))
        if (active := self._rollouts.take_active(deployment_id, number)) is not None:
            self._rollouts.retire_later(active)
        return saved

    async def PromoteCanary(self, request: ds.PromoteCanaryRequest, context: grpc.aio.ServicerContext) -> D:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        deployment_id = rules.parse_deployment_name(request.name)
        rules.validate_reason(request.reason)
        validate_request_id(request.request_id)
        if (first := await self._earlier("PromoteCanary", principal.user_id, request, D)) is not None:
            return first
        async with self._rollouts.lock(deployment_id), self._db.sessions.begin() as session:
            d, generation, _ = await self._repo.get(session, deployment_id, for_update=True)
            if request.etag and request.etag != d.etag:
                raise Aborted(f"'{d.name}' has changed since it was read (etag mismatch)", reason="ETAG_MISMATCH")
            if not d.HasField("canary"):
                raise FailedPrecondition(f"'{d.name}' has no canary", reason="NO_CANARY")
            if d.canary.health.outcome != d.canary.health.OUTCOME_PASSED:
                raise FailedPrecondition("the canary's latest health check did not pass", reason="CANARY_UNHEALTHY")
            number = number_of(d.canary.revision) or 0
            previous = number_of(d.current_revision)
            canary = await self._repo.get_revision(session, deployment_id, number)
            canary.state = R.STATE_SERVING
            await self._repo.save_revision(session, deployment_id, canary)
            if previous is not None:
                old = await self._repo.get_revision(session, deployment_id, previous)
                old.state = R.STATE_SUPERSEDED
                stamp(old.serve_end_time)
                await self._repo.save_revision(session, deployment_id, old)
                await self._rollouts.emit_registry(session, d, previous, old.model_version, 4, 0, principal.user_id,
                                                   f"replaced by promoted canary {number}")
            d.current_revision = d.canary.revision
            d.resolved_model_version = canary.model_version
            d.health.CopyFrom(d.canary.health)
            d.ClearField("canary")
            stamp(d.update_time)
            saved = await self._repo.save(session, d, generation=generation)
            await self._rollouts.emit_registry(session, d, number, canary.model_version, 2, 100, principal.user_id)
            await self._rollouts.emit_history(session, canary.model_version, principal.user_id,
                                              deployed=lifecycle_event_pb2.LifecycleEvent.Deployed(
                                                  deployment=d.name, model_version=canary.model_version,
                                                  revision=canary.name, target=TARGET_NAMES[d.target],
                                                  traffic_percent=100))
            await self._remember(session, "PromoteCanary", principal.user_id, request, saved)
            self._table.promote(deployment_id)
            if previous is not None and (active := self._rollouts.take_active(deployment_id, previous)) is not None:
                self._rollouts.retire_later(active)
        return saved

    async def DeleteDeployment(self, request: ds.DeleteDeploymentRequest, context: grpc.aio.ServicerContext) -> D:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        deployment_id = rules.parse_deployment_name(request.name)
        validate_request_id(request.request_id)
        if (first := await self._earlier("DeleteDeployment", principal.user_id, request, D)) is not None:
            return first
        async with self._rollouts.lock(deployment_id), self._db.sessions.begin() as session:
            d, generation, _ = await self._repo.get(session, deployment_id, for_update=True)
            if request.etag and request.etag != d.etag:
                raise Aborted(f"'{d.name}' has changed since it was read (etag mismatch)", reason="ETAG_MISMATCH")
            d.state = D.STATE_DELETING
            stamp(d.update_time)
            d = await self._repo.save(session, d, generation=generation)
        await self._rollouts.cancel(deployment_id)
        for served in self._table.remove(deployment_id):
            if (active := self._rollouts.take_active(deployment_id, served.revision)) is not None:
                await active.target.retire(active.prepared)
        async with self._rollouts.lock(deployment_id), self._db.sessions.begin() as session:
            for name in (d.current_revision, d.canary.revision if d.HasField("canary") else ""):
                if name:
                    r = await self._repo.get_revision(session, deployment_id, number_of(name) or 0)
                    await self._rollouts.emit_registry(session, d, r.revision_number, r.model_version, 4, 0,
                                                       principal.user_id, "deployment deleted")
            if d.resolved_model_version:
                    await self._rollouts.emit_history(session, d.resolved_model_version, principal.user_id,
                                                  deleted=lifecycle_event_pb2.LifecycleEvent.Deleted(resource=d.name))
            await self._repo.delete(session, deployment_id)
            await self._remember(session, "DeleteDeployment", principal.user_id, request, d)
        await self._rollouts.remove_files(deployment_id)
        return d
