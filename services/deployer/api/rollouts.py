"""Rollouts: fetch and verify, load, health-check, switch; and the records every change leaves.

Each state change is its own short transaction under the deployment's lock; the slow steps (copying
and hashing the artifact, loading, the probe) run between them without holding anything. Every traffic
change writes, in the same transaction, outbox messages for the registry (where the version runs) and
the history service (deployed / rolled back).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import structlog
from google.rpc import code_pb2, status_pb2

from lathe.deployer.v1 import deployment_pb2, deployment_revision_pb2, health_check_pb2
from lathe.history.v1 import history_service_pb2, lifecycle_event_pb2
from lathe.kit.db import Database
from lathe.kit.errors import LatheError, from_rpc_error
from lathe.kit.outbox import Outbox
from lathe.kit.peers import Peers
from lathe.registry.v1 import model_version_pb2, registry_service_pb2, version_deployment_pb2
from services.deployer.adapters.fetch import MANIFEST_FILE, ArtifactUnavailable, fetch_and_verify, write_manifest
from services.deployer.adapters.repository import DeploymentRepository, number_of
from services.deployer.adapters.runtimes import ProbeFailed
from services.deployer.api.targets import Job, Prepared, Target, remove_folder
from services.deployer.domain.deployments import revision_name

D = deployment_pb2.Deployment
R = deployment_revision_pb2.DeploymentRevision
H = health_check_pb2.HealthCheckResult
VD = version_deployment_pb2.VersionDeployment
REGISTRY_TOPIC = "registry.deployments"
HISTORY_TOPIC = "history.lifecycle"
TARGET_NAMES = {D.TARGET_LOCAL: "local", D.TARGET_KUBERNETES: "kubernetes", D.TARGET_HUGGINGFACE: "huggingface",
                D.TARGET_ONNX: "onnx", D.TARGET_OLLAMA: "ollama"}
_log = structlog.get_logger("lathe.deployer.rollouts")


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def stamp(ts: Any, when: datetime | None = None) -> None:
    """Set a Timestamp field to ``when`` (now by default)."""
    ts.FromDatetime(when or now())


class RolloutFailed(Exception):
    """A rollout step failed; carries the ErrorInfo reason, the gRPC code and the health outcome."""

    def __init__(self, reason: str, code: int, message: str, outcome: int = H.OUTCOME_SKIPPED) -> None:
        super().__init__(message)
        self.reason, self.code, self.message, self.outcome = reason, code, message, outcome


def error_status(reason: str, code: int, message: str) -> status_pb2.Status:
    from google.protobuf import any_pb2
    from google.rpc import error_details_pb2

    status = status_pb2.Status(code=code, message=message)
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="deployer.lathe.dev"))
    status.details.append(detail)
    return status


@dataclass
class Active:
    """A prepared revision that holds resources (a loaded model) while it serves."""

    target: Target
    prepared: Prepared


class Rollouts:
    """Runs rollouts in the background and applies traffic changes, recording each one."""

    def __init__(self, db: Database, outbox: Outbox, peers: Peers, targets: dict[int, Target], *, root: Path,
                 address: Callable[[], str], health_timeout: float, drain_seconds: float,
                 health_idle_poll: float = 5.0) -> None:
        self._db = db
        self._outbox = outbox
        self._peers = peers
        self.targets = targets
        self._repo = DeploymentRepository()
        self._root = root
        self._address = address
        self._health_timeout = health_timeout
        self._drain = drain_seconds
        self._locks: dict[str, asyncio.Lock] = {}
        self.tasks: dict[str, asyncio.Task] = {}
        self._active: dict[tuple[str, int], Active] = {}
        self._background: set[asyncio.Task] = set()
        # Periodic health checks: one watcher per loaded revision, and its consecutive failures.
        self._watchers: dict[tuple[str, int], asyncio.Task] = {}
        self._failures: dict[tuple[str, int], int] = {}
        self._idle_poll = health_idle_poll

    # ------------------------------------------------------------------ plumbing

    def lock(self, deployment_id: str) -> asyncio.Lock:
        """The lock serialising changes of one deployment in this process."""
        return self._locks.setdefault(deployment_id, asyncio.Lock())

    def in_progress(self, deployment_id: str) -> bool:
        """Whether a rollout of the deployment is running."""
        task = self.tasks.get(deployment_id)
        return task is not None and not task.done()

    def address(self) -> str:
        """The ``host:port`` of this deployer's inference endpoint."""
        return self._address()

    def registry(self) -> Any:
        """The registry stub (service credentials)."""
        return self._peers.registry()

    async def fail(self, deployment_id: str, number: int, failure: RolloutFailed) -> None:
        """Record that ``number``'s rollout failed: the previous revision, if any, keeps serving."""
        await self._fail(deployment_id, number, failure)

    def work_dir(self, deployment_id: str, revision: int) -> Path:
        """Where a revision's artifact copy and exports live."""
        return self._root / "deployments" / deployment_id / "revisions" / str(revision)

    async def registry_version(self, name: str) -> model_version_pb2.ModelVersion:
        """The registry's version (an alias is resolved); its errors are re-raised as they are."""
        try:
            return await self._peers.registry().GetModelVersion(registry_service_pb2.GetModelVersionRequest(name=name))
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from None

    def start(self, deployment_id: str, revision: int, kind: str, canary_percent: int) -> None:
        """Run the rollout of ``revision`` in the background."""
        self.tasks[deployment_id] = asyncio.create_task(
            self._rollout(deployment_id, revision, kind, canary_percent), name=f"rollout-{deployment_id}")

    async def cancel(self, deployment_id: str) -> None:
        """Cancel the running rollout (if any) and wait until it has recorded the cancellation."""
        task = self.tasks.get(deployment_id)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def stop(self) -> None:
        """Cancel every rollout and unload every model (shutdown)."""
        for deployment_id in list(self.tasks):
            await self.cancel(deployment_id)
        for task in [*self._background, *self._watchers.values()]:
            task.cancel()
        self._watchers.clear()
        for active in list(self._active.values()):
            await active.target.retire(active.prepared)
        self._active.clear()

    # ------------------------------------------------------------------ records

    async def emit_registry(self, session: Any, d: D, revision: int, model_version: str, state: int,
                            traffic: int, actor: str, message: str = "") -> None:
        """Tell the registry where ``model_version`` runs (an upsert ordered by event time)."""
        deployment = VD(deployment=d.name, target=TARGET_NAMES[d.target], endpoint=self._endpoint_text(d),
                        revision=revision, state=state, traffic_percent=traffic, actor=actor, message=message[:1000])
        stamp(deployment.event_time)
        key = f"registry:{uuid.uuid4()}"
        request = registry_service_pb2.RecordDeploymentRequest(parent=model_version, version_deployment=deployment)
        await self._outbox.add(session, topic=REGISTRY_TOPIC, key=key, payload=request.SerializeToString())

    async def emit_history(self, session: Any, model_version: str, actor: str, **payload: Any) -> None:
        """Record a deployed / rolled back / deleted lifecycle event for the history service."""
        key = str(uuid.uuid4())
        event = lifecycle_event_pb2.LifecycleEvent(model=model_version.split("/versions/")[0], actor=actor, **payload)
        stamp(event.event_time)
        request = history_service_pb2.RecordLifecycleEventRequest(lifecycle_event=event, lifecycle_event_id=key)
        await self._outbox.add(session, topic=HISTORY_TOPIC, key=key, payload=request.SerializeToString())

    def _endpoint_text(self, d: D) -> str:
        return d.endpoint.address or d.endpoint.export_uri

    # ------------------------------------------------------------------ transitions

    async def _transition(self, deployment_id: str, number: int, change: Callable[[D, R], Any]) -> tuple[D, R]:
        async with self.lock(deployment_id), self._db.sessions.begin() as session:
            d, generation, _ = await self._repo.get(session, deployment_id, for_update=True)
            r = await self._repo.get_revision(session, deployment_id, number)
            result = change(d, r)
            if asyncio.iscoroutine(result):
                await result
            stamp(d.update_time)
            await self._repo.save_revision(session, deployment_id, r)
            await self._repo.save(session, d, generation=generation)
            return d, r

    async def _rollout(self, deployment_id: str, number: int, kind: str, canary_percent: int) -> None:
        prepared: Prepared | None = None
        target: Target | None = None
        try:
            d, r = await self._transition(deployment_id, number, lambda d, r: self._states(d, r, D.STATE_VERIFYING,
                                                                                             R.STATE_VERIFYING))
            target = self.targets[d.target]
            work = self.work_dir(deployment_id, number)
            download = await self._download(r.model_version)
            files = [(f.path, f.uri, f.size_bytes, f.sha256) for f in download.files]
            try:
                mismatches = await asyncio.to_thread(fetch_and_verify, files, work / "artifact")
            except ArtifactUnavailable as exc:
                raise RolloutFailed("ARTIFACT_UNAVAILABLE", code_pb2.UNAVAILABLE, str(exc)) from None
            if mismatches:
                listed = "; ".join(f"{m.path}: {m.problem}" for m in mismatches[:5])
                raise RolloutFailed("ARTIFACT_CHECKSUM_MISMATCH", code_pb2.FAILED_PRECONDITION,
                                    f"{len(mismatches)} file(s) of {r.model_version} do not match the registry's "
                                    f"manifest: {listed}")
            # What was verified, so that a restart can verify the copy again without the registry.
            await asyncio.to_thread(write_manifest, [(p, size, sha) for p, _, size, sha in files],
                                    work / MANIFEST_FILE)

            def verified(d: D, r: R) -> None:
                r.sha256_verified = True
                stamp(r.verify_time)
                self._states(d, r, D.STATE_LOADING, R.STATE_LOADING)

            d, r = await self._transition(deployment_id, number, verified)
            job = Job(deployment_id, number, r.model_version, kind, work / "artifact", work, r.options,
                      artifact_uri=download.artifact_uri, manifest_digest=download.manifest.digest,
                      probe_text=d.health_check_config.probe_text)
            try:
                prepared = await target.prepare(job)
            except Exception as exc:  # a broken artifact or exporter: the rollout fails, the service does not
                _log.warning("revision_prepare_failed", deployment=deployment_id, revision=number, error=str(exc))
                reason = "MODEL_LOAD_FAILED" if target.serves and d.target == D.TARGET_LOCAL else (
                    "TARGET_APPLY_FAILED" if d.target == D.TARGET_KUBERNETES else "EXPORT_FAILED")
                code = code_pb2.UNAVAILABLE if reason == "TARGET_APPLY_FAILED" else code_pb2.FAILED_PRECONDITION
                raise RolloutFailed(reason, code, f"{type(exc).__name__}: {exc}") from None
            await self._transition(deployment_id, number, lambda d, r: self._states(
                d, r, D.STATE_HEALTH_CHECKING, R.STATE_HEALTH_CHECKING))
            health = await self.probe(target, prepared, d.health_check_config)
            await self._switch(deployment_id, number, target, prepared, health, canary_percent)
        except asyncio.CancelledError:
            if prepared is not None and target is not None:
                await target.retire(prepared)
            with contextlib.suppress(Exception):
                await asyncio.shield(self._abandon(deployment_id, number))
            raise
        except RolloutFailed as failure:
            if prepared is not None and target is not None:
                await target.retire(prepared)
            await self._fail(deployment_id, number, failure)
        except Exception as exc:
            _log.exception("rollout_crashed", deployment=deployment_id, revision=number)
            if prepared is not None and target is not None:
                await target.retire(prepared)
            await self._fail(deployment_id, number, RolloutFailed("ROLLOUT_FAILED", code_pb2.INTERNAL,
                                                                  f"{type(exc).__name__}: {exc}"))

    async def probe(self, target: Target, prepared: Prepared, config: health_check_pb2.HealthCheckConfig) -> H:
        """Run the health check within the configured timeout; RolloutFailed (with its outcome) if it fails."""
        timeout = (config.timeout.ToTimedelta().total_seconds() if config.HasField("timeout")
                   else self._health_timeout)
        started = now()
        try:
            await asyncio.wait_for(target.check(prepared), timeout)
        except TimeoutError:
            raise RolloutFailed("HEALTH_CHECK_TIMEOUT", code_pb2.DEADLINE_EXCEEDED,
                                f"the probe inference did not finish within {timeout:g}s",
                                H.OUTCOME_TIMED_OUT) from None
        except Exception as exc:
            detail = str(exc) if isinstance(exc, ProbeFailed) else f"{type(exc).__name__}: {exc}"
            raise RolloutFailed("HEALTH_CHECK_FAILED", code_pb2.FAILED_PRECONDITION,
                                f"the health check failed: {detail}", H.OUTCOME_FAILED) from None
        health = H(outcome=H.OUTCOME_PASSED)
        stamp(health.check_time)
        health.latency.FromTimedelta(now() - started)
        return health

    async def _download(self, model_version: str) -> registry_service_pb2.GetVersionDownloadResponse:
        try:
            return await self._peers.registry().GetVersionDownload(
                registry_service_pb2.GetVersionDownloadRequest(name=model_version))
        except grpc.aio.AioRpcError as exc:
            error = from_rpc_error(exc)
            if error.reason == "VERSION_INTEGRITY_FAILED":
                raise RolloutFailed("ARTIFACT_CHECKSUM_MISMATCH", code_pb2.FAILED_PRECONDITION,
                                    f"the registry refuses {model_version}: {error.message}") from None
            code = code_pb2.UNAVAILABLE if exc.code() == grpc.StatusCode.UNAVAILABLE else code_pb2.FAILED_PRECONDITION
            raise RolloutFailed("ARTIFACT_UNAVAILABLE", code, f"cannot get {model_version}'s download: "
                                f"{error.message}") from None

    @staticmethod
    def _states(d: D, r: R, deployment_state: int, revision_state: int) -> None:
        d.state = deployment_state
        r.state = revision_state

    async def _switch(self, deployment_id: str, number: int, target: Target, prepared: Prepared, health: H,
                      canary_percent: int) -> None:
        replaced: Active | None = None
        async with self.lock(deployment_id), self._db.sessions.begin() as session:
            d, generation, _ = await self._repo.get(session, deployment_id, for_update=True)
            r = await self._repo.get_revision(session, deployment_id, number)
            await target.activate(prepared, canary_percent)
            self.add_active(deployment_id, number, Active(target, prepared))
            r.health_check.CopyFrom(health)
            stamp(r.serve_start_time)
            actor = r.creator
            if canary_percent:
                r.state = R.STATE_CANARY
                d.canary.revision = r.name
                d.canary.traffic_percent = canary_percent
                stamp(d.canary.start_time)
                d.canary.health.CopyFrom(health)
            else:
                previous = number_of(d.current_revision)
                if previous is not None:
                    old = await self._repo.get_revision(session, deployment_id, previous)
                    old.state = R.STATE_SUPERSEDED
                    stamp(old.serve_end_time)
                    await self._repo.save_revision(session, deployment_id, old)
                    await self.emit_registry(session, d, previous, old.model_version, VD.STATE_RETIRED, 0, actor,
                                             f"replaced by revision {number}")
                    replaced = self.take_active(deployment_id, previous)
                r.state = R.STATE_SERVING
                d.current_revision = r.name
                d.resolved_model_version = r.model_version
                d.health.CopyFrom(health)
            d.state = D.STATE_SERVING
            d.pending_revision = ""
            d.ClearField("error")
            if target.serves and d.target == D.TARGET_LOCAL:
                d.endpoint.address = self._address()
                d.endpoint.model_name = deployment_id
            elif prepared.output is not None:
                d.endpoint.export_uri = prepared.output.as_uri()
            stamp(d.update_time)
            await self._repo.save_revision(session, deployment_id, r)
            await self._repo.save(session, d, generation=generation)
            await self.emit_registry(session, d, number, r.model_version, VD.STATE_SERVING,
                                     canary_percent or 100, actor)
            if r.trigger == R.TRIGGER_ROLLBACK:
                source = await self._repo.get_revision(session, deployment_id, number_of(r.source_revision) or 0) \
                    if r.source_revision else None
                await self.emit_history(session, r.model_version, actor, rolled_back=lifecycle_event_pb2.LifecycleEvent
                                        .RolledBack(deployment=d.name, to_version=r.model_version, to_revision=r.name,
                                                    automatic=False, reason=r.reason,
                                                    from_version=source.model_version if source else ""))
            else:
                await self.emit_history(session, r.model_version, actor, deployed=lifecycle_event_pb2.LifecycleEvent
                                        .Deployed(deployment=d.name, model_version=r.model_version, revision=r.name,
                                                  target=TARGET_NAMES[d.target],
                                                  traffic_percent=canary_percent or 100))
        _log.info("revision_serving", deployment=deployment_id, revision=number, canary_percent=canary_percent)
        if replaced is not None:
            self.retire_later(replaced)

    def retire_later(self, active: Active) -> None:
        """Unload a replaced revision once the requests it already holds have finished."""
        async def retire() -> None:
            await asyncio.sleep(self._drain)
            await active.target.retire(active.prepared)

        task = asyncio.create_task(retire())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def take_active(self, deployment_id: str, number: int) -> Active | None:
        """Remove and return the resources of a revision (for withdraw, promote and delete)."""
        watcher = self._watchers.pop((deployment_id, number), None)
        if watcher is not None:
            watcher.cancel()
        self._failures.pop((deployment_id, number), None)
        return self._active.pop((deployment_id, number), None)

    def add_active(self, deployment_id: str, number: int, active: Active) -> None:
        """Hold a revision that takes traffic; a served revision is re-checked on its health check period."""
        self._active[(deployment_id, number)] = active
        if active.target.serves and active.prepared.runtime is not None:
            task = asyncio.create_task(self._watch(deployment_id, number), name=f"health-{deployment_id}-{number}")
            self._watchers[(deployment_id, number)] = task

    # ------------------------------------------------------------------ periodic health checks

    async def _watch(self, deployment_id: str, number: int) -> None:
        """Probe a serving revision every ``health_check_config.period`` and record the result.

        The period is read again before each wait, so an update of the config takes effect at the next
        check. As the contract says, a failed periodic check marks the deployment's (or canary's)
        ``health`` as failed and does not move traffic.
        """
        key = (deployment_id, number)
        while key in self._active:
            try:
                async with self._db.sessions() as session:
                    d = (await self._repo.get(session, deployment_id))[0]
            except LatheError:
                return
            except Exception as exc:  # the database is briefly unreachable: try again later
                _log.warning("health_watch_read_failed", deployment=deployment_id, error=str(exc))
                await asyncio.sleep(self._idle_poll)
                continue
            config = d.health_check_config
            period = config.period.ToTimedelta().total_seconds() if config.HasField("period") else 0.0
            if period <= 0:
                await asyncio.sleep(self._idle_poll)
                continue
            await asyncio.sleep(period)
            active = self._active.get(key)
            if active is None:
                return
            try:
                health = await self.probe(active.target, active.prepared, config)
                self._failures.pop(key, None)
            except RolloutFailed as failure:
                failed = self._failures[key] = self._failures.get(key, 0) + 1
                health = H(outcome=failure.outcome, message=f"{failed} consecutive periodic check(s) failed; "
                                                            f"latest: {failure.message}"[:2000])
                stamp(health.check_time)
            if self._active.get(key) is not active:
                return
            await self._record_health(deployment_id, number, health)

    async def _record_health(self, deployment_id: str, number: int, health: H) -> None:
        name = revision_name(deployment_id, number)
        async with self.lock(deployment_id), self._db.sessions.begin() as session:
            try:
                d, _, _ = await self._repo.get(session, deployment_id, for_update=True)
            except LatheError:
                return
            if d.current_revision == name:
                before = d.health.outcome
                d.health.CopyFrom(health)
            elif d.HasField("canary") and d.canary.revision == name:
                before = d.canary.health.outcome
                d.canary.health.CopyFrom(health)
            else:
                return
            # An observation, not a change: neither update_time nor the etag moves.
            await self._repo.save_detail(session, d)
        if health.outcome != H.OUTCOME_PASSED and before == H.OUTCOME_PASSED:
            _log.warning("serving_revision_unhealthy", deployment=deployment_id, revision=number,
                         error=health.message)
        elif health.outcome == H.OUTCOME_PASSED and before != H.OUTCOME_PASSED:
            _log.info("serving_revision_healthy_again", deployment=deployment_id, revision=number)

    async def _fail(self, deployment_id: str, number: int, failure: RolloutFailed) -> None:
        status = error_status(failure.reason, failure.code, failure.message)
        async with self.lock(deployment_id), self._db.sessions.begin() as session:
            d, generation, _ = await self._repo.get(session, deployment_id, for_update=True)
            r = await self._repo.get_revision(session, deployment_id, number)
            r.state = R.STATE_FAILED
            r.error.CopyFrom(status)
            r.health_check.outcome = failure.outcome
            stamp(r.health_check.check_time)
            r.health_check.message = failure.message[:2000]
            d.error.CopyFrom(status)
            d.pending_revision = ""
            d.state = D.STATE_ROLLED_BACK if d.current_revision else D.STATE_FAILED
            stamp(d.update_time)
            await self._repo.save_revision(session, deployment_id, r)
            await self._repo.save(session, d, generation=generation)
            await self.emit_registry(session, d, number, r.model_version, VD.STATE_FAILED, 0, r.creator,
                                     failure.message)
            if d.current_revision:
                await self.emit_history(session, r.model_version, r.creator, rolled_back=lifecycle_event_pb2
                                        .LifecycleEvent.RolledBack(
                                            deployment=d.name, from_version=r.model_version,
                                            to_version=d.resolved_model_version, to_revision=d.current_revision,
                                            automatic=True, reason=f"{failure.reason}: {failure.message}"[:1000]))
        _log.warning("rollout_failed", deployment=deployment_id, revision=number, reason=failure.reason,
                     error=failure.message)

    async def _abandon(self, deployment_id: str, number: int) -> None:
        async with self.lock(deployment_id), self._db.sessions.begin() as session:
            try:
                d, generation, _ = await self._repo.get(session, deployment_id, for_update=True)
            except LatheError:
                return
            r = await self._repo.get_revision(session, deployment_id, number)
            if r.state in (R.STATE_PENDING, R.STATE_VERIFYING, R.STATE_LOADING, R.STATE_HEALTH_CHECKING):
                r.state = R.STATE_CANCELLED
                await self._repo.save_revision(session, deployment_id, r)
            if d.pending_revision == r.name:
                d.pending_revision = ""
                if d.state != D.STATE_DELETING:
                    d.state = D.STATE_SERVING if d.current_revision else D.STATE_FAILED
                stamp(d.update_time)
                await self._repo.save(session, d, generation=generation)

    async def remove_files(self, deployment_id: str) -> None:
        """Delete the deployment's working folder (artifact copies and default-location exports)."""
        await asyncio.to_thread(remove_folder, self._root / "deployments" / deployment_id)


__all__ = ["HISTORY_TOPIC", "REGISTRY_TOPIC", "RolloutFailed", "Rollouts", "revision_name"]
