"""Start-up recovery: bring back what served before the deployer stopped, and settle what it left half-done.

Chosen behaviour (asserted by tests/deployer/integration/test_restart.py):

- The server starts at once and reports SERVING on the gRPC health service, so the deployer API answers
  (GetDeployment shows what is being restored). The inference API is honest about what is loaded:
  ``ServerReady`` is false until every deployment that served has been restored or given up on;
  ``ModelReady`` is false and ``ModelInfer`` answers UNAVAILABLE (reason ``MODEL_RESTORING``,
  retryable) until that model is loaded and probed again.
- A local deployment's current revision (and its canary) is restored from the revision's own verified
  copy: every file is hashed again against the manifest verified at rollout, which itself must hash to
  the registry digest stored in the database. A copy that no longer matches is never loaded (no silent
  re-download: a changed verified copy is a finding to report): the revision becomes FAILED, the
  deployment FAILED with reason ``ARTIFACT_CHECKSUM_MISMATCH``, and the registry is told. When the copy
  is missing it is fetched from the registry again and verified as in a rollout. The restored model is
  then loaded and health-checked before it takes traffic; a failed load or probe fails it the same way.
- A rollout that was in progress when the process died is not re-run (it may be what killed the process,
  for example a model too large for memory): its revision is FAILED with reason ``ROLLOUT_INTERRUPTED``
  ("interrupted by deployer restart") and the previous revision, if any, keeps serving.
- A deletion that was in progress is finished.
"""

from __future__ import annotations

import asyncio

import grpc
import structlog
from google.rpc import code_pb2

from lathe.deployer.v1 import deployment_pb2, deployment_revision_pb2, health_check_pb2
from lathe.history.v1 import lifecycle_event_pb2
from lathe.kit.db import Database
from lathe.kit.errors import LatheError, from_rpc_error
from lathe.registry.v1 import registry_service_pb2, version_deployment_pb2
from services.deployer.adapters.fetch import (
    MANIFEST_FILE,
    ArtifactUnavailable,
    fetch_and_verify,
    read_manifest,
    verify_in_place,
    write_manifest,
)
from services.deployer.adapters.repository import DeploymentRepository, number_of
from services.deployer.adapters.runtimes import detect_kind
from services.deployer.adapters.serving import ServingTable
from services.deployer.api.rollouts import Active, RolloutFailed, Rollouts, error_status, stamp
from services.deployer.api.targets import Job, Target, remove_folder

D = deployment_pb2.Deployment
R = deployment_revision_pb2.DeploymentRevision
H = health_check_pb2.HealthCheckResult
VD = version_deployment_pb2.VersionDeployment
INTERRUPTED = "ROLLOUT_INTERRUPTED"
_log = structlog.get_logger("lathe.deployer.recovery")


class Recovery:
    """Runs once at start-up: :meth:`scan` before the server starts, the rest in the background while the
    server already answers."""

    def __init__(self, db: Database, rollouts: Rollouts, table: ServingTable, *, registry_attempts: int = 5,
                 registry_backoff: float = 1.0) -> None:
        self._db = db
        self._rollouts = rollouts
        self._table = table
        self._repo = DeploymentRepository()
        self._attempts = registry_attempts
        self._backoff = registry_backoff
        self.task: asyncio.Task | None = None
        self._found: tuple[list[D], list[tuple[str, int, int]], list[str]] | None = None
        # Marked before the server starts so no request sees "not found" for a model about to come back.
        table.starting = True

    async def scan(self) -> None:
        """Read what the previous process left: deletions and rollouts it did not finish, local deployments it
        served. Called before the server starts, so that nothing created through this process's API (a
        rollout that has just begun) is taken for the previous process's interrupted work."""
        try:
            async with self._db.sessions() as session:
                everything = await self._repo.all_serving(session)
                unfinished = await self._repo.unfinished_revisions(session)
            deleting = [d for d, _ in everything if d.state == D.STATE_DELETING]
            restore = [d.name.split("/")[1] for d, _ in everything
                       if d.state != D.STATE_DELETING and d.target == D.TARGET_LOCAL
                       and (d.current_revision or d.HasField("canary"))]
            self._table.restoring.update(restore)
            self._found = (deleting, unfinished, restore)
        finally:
            self._table.starting = False

    def start(self) -> None:
        """Run the rest of the recovery in the background."""
        self.task = asyncio.create_task(self._run_logged(), name="deployer-recovery")

    async def _run_logged(self) -> None:
        try:
            await self.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # the database went away mid-recovery: say so; nothing is left marked as restoring
            _log.exception("recovery_failed")

    async def stop(self) -> None:
        """Cancel a recovery still running (shutdown)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass

    async def run(self) -> None:
        """Settle interrupted rollouts and deletions, then restore every served local deployment."""
        try:
            assert self._found is not None, "scan() runs before the server starts (app.build)"
            deleting, unfinished, restore = self._found
            for d in deleting:
                await self._finish_delete(d)
            for deployment_id, number, state in unfinished:
                await self._interrupt(deployment_id, number, state)
            for deployment_id in restore:
                try:
                    await self._restore(deployment_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    _log.exception("restore_crashed", deployment=deployment_id)
                finally:
                    self._table.restoring.discard(deployment_id)
        finally:
            self._table.restoring.clear()
        _log.info("recovery_finished", restored=len(restore), interrupted=len(unfinished))

    # ------------------------------------------------------------------ interrupted work

    async def _interrupt(self, deployment_id: str, number: int, state: int) -> None:
        step = R.State.Name(state).removeprefix("STATE_").lower().replace("_", " ")
        failure = RolloutFailed(INTERRUPTED, code_pb2.ABORTED,
                                f"interrupted by deployer restart (the rollout was {step}); it was not re-run, "
                                "the previous revision keeps serving; update the deployment to roll out again")
        try:
            await self._rollouts.fail(deployment_id, number, failure)
        except LatheError:  # deleted meanwhile
            return
        await asyncio.to_thread(remove_folder, self._rollouts.work_dir(deployment_id, number))

    async def _finish_delete(self, d: D) -> None:
        deployment_id = d.name.split("/")[1]
        async with self._rollouts.lock(deployment_id), self._db.sessions.begin() as session:
            try:
                d, _, _ = await self._repo.get(session, deployment_id, for_update=True)
            except LatheError:
                return
            for name in (d.current_revision, d.canary.revision if d.HasField("canary") else ""):
                if name:
                    r = await self._repo.get_revision(session, deployment_id, number_of(name) or 0)
                    await self._rollouts.emit_registry(session, d, r.revision_number, r.model_version,
                                                       VD.STATE_RETIRED, 0, r.creator, "deployment deleted")
            if d.resolved_model_version:
                await self._rollouts.emit_history(session, d.resolved_model_version, d.creator,
                                                  deleted=lifecycle_event_pb2.LifecycleEvent.Deleted(resource=d.name))
            await self._repo.delete(session, deployment_id)
        await self._rollouts.remove_files(deployment_id)
        _log.info("interrupted_delete_finished", deployment=deployment_id)

    # ------------------------------------------------------------------ restoring served revisions

    async def _restore(self, deployment_id: str) -> None:
        rollouts = self._rollouts
        async with rollouts.lock(deployment_id):
            async with self._db.sessions() as session:
                try:
                    d = (await self._repo.get(session, deployment_id))[0]
                except LatheError:
                    return
                wanted = [(n, 0) for n in (number_of(d.current_revision),) if n]
                if d.HasField("canary") and d.canary.revision:
                    wanted.append((number_of(d.canary.revision) or 0, d.canary.traffic_percent))
                revisions = {n: await self._repo.get_revision(session, deployment_id, n) for n, _ in wanted}
            target = rollouts.targets[d.target]
            outcomes: dict[int, H | RolloutFailed] = {}
            for number, percent in wanted:
                try:
                    outcomes[number] = await self._restore_revision(target, d, revisions[number], percent)
                except RolloutFailed as failure:
                    outcomes[number] = failure
                    _log.error("revision_restore_failed", deployment=deployment_id, revision=number,
                               reason=failure.reason, error=failure.message)
            await self._record(deployment_id, outcomes)

    async def _restore_revision(self, target: Target, d: D, r: R, percent: int) -> H:
        deployment_id = d.name.split("/")[1]
        work = self._rollouts.work_dir(deployment_id, r.revision_number)
        folder = work / "artifact"
        if await asyncio.to_thread(folder.is_dir):
            entries = await asyncio.to_thread(read_manifest, work / MANIFEST_FILE, r.artifact_sha256)
            if entries is None:
                download = await self._download(r)
                entries = [(f.path, f.size_bytes, f.sha256) for f in download.files]
            mismatches = await asyncio.to_thread(verify_in_place, entries, folder)
            if mismatches:
                listed = "; ".join(f"{m.path}: {m.problem}" for m in mismatches[:5])
                raise RolloutFailed(
                    "ARTIFACT_CHECKSUM_MISMATCH", code_pb2.FAILED_PRECONDITION,
                    f"the verified copy of {r.model_version} (revision {r.revision_number}) changed while the "
                    f"deployer was stopped, so it is not served: {len(mismatches)} file(s) differ from the "
                    f"manifest: {listed}")
        else:
            download = await self._download(r)
            files = [(f.path, f.uri, f.size_bytes, f.sha256) for f in download.files]
            try:
                mismatches = await asyncio.to_thread(fetch_and_verify, files, folder)
            except ArtifactUnavailable as exc:
                raise RolloutFailed("ARTIFACT_UNAVAILABLE", code_pb2.UNAVAILABLE, str(exc)) from None
            if mismatches:
                listed = "; ".join(f"{m.path}: {m.problem}" for m in mismatches[:5])
                raise RolloutFailed("ARTIFACT_CHECKSUM_MISMATCH", code_pb2.FAILED_PRECONDITION,
                                    f"{len(mismatches)} file(s) of {r.model_version} fetched again after a restart "
                                    f"do not match the registry's manifest: {listed}")
            await asyncio.to_thread(write_manifest, [(p, size, sha) for p, _, size, sha in files],
                                    work / MANIFEST_FILE)
        try:
            kind = await asyncio.to_thread(detect_kind, folder)
            job = Job(deployment_id, r.revision_number, r.model_version, kind, folder, work, r.options,
                      probe_text=d.health_check_config.probe_text)
            prepared = await target.prepare(job)
        except Exception as exc:
            raise RolloutFailed("MODEL_LOAD_FAILED", code_pb2.FAILED_PRECONDITION,
                                f"reloading after a restart failed: {type(exc).__name__}: {exc}") from None
        try:
            health = await self._rollouts.probe(target, prepared, d.health_check_config)
        except RolloutFailed:
            await target.retire(prepared)
            raise
        await target.activate(prepared, percent)
        self._rollouts.add_active(deployment_id, r.revision_number, Active(target, prepared))
        _log.info("revision_restored", deployment=deployment_id, revision=r.revision_number,
                  canary_percent=percent)
        return health

    async def _download(self, r: R) -> registry_service_pb2.GetVersionDownloadResponse:
        """The registry's download of the revision's version, retried while the registry is unreachable."""
        for attempt in range(self._attempts):
            try:
                download = await self._rollouts.registry().GetVersionDownload(
                    registry_service_pb2.GetVersionDownloadRequest(name=r.model_version))
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNAVAILABLE and attempt + 1 < self._attempts:
                    await asyncio.sleep(self._backoff * (attempt + 1))
                    continue
                error = from_rpc_error(exc)
                if error.reason == "VERSION_INTEGRITY_FAILED":
                    raise RolloutFailed("ARTIFACT_CHECKSUM_MISMATCH", code_pb2.FAILED_PRECONDITION,
                                        f"the registry refuses {r.model_version}: {error.message}") from None
                raise RolloutFailed("ARTIFACT_UNAVAILABLE", code_pb2.UNAVAILABLE,
                                    f"cannot get {r.model_version}'s download to verify it after a restart: "
                                    f"{error.message}") from None
            if download.manifest.digest.removeprefix("sha256:") != r.artifact_sha256.removeprefix("sha256:"):
                raise RolloutFailed("ARTIFACT_CHECKSUM_MISMATCH", code_pb2.FAILED_PRECONDITION,
                                    f"the registry's manifest of {r.model_version} is {download.manifest.digest}, "
                                    f"not the sha256:{r.artifact_sha256} this revision verified")
            return download
        raise AssertionError("unreachable")

    async def _record(self, deployment_id: str, outcomes: dict[int, H | RolloutFailed]) -> None:
        rollouts = self._rollouts
        async with self._db.sessions.begin() as session:
            try:
                d, generation, _ = await self._repo.get(session, deployment_id, for_update=True)
            except LatheError:
                return
            current = number_of(d.current_revision)
            canary = number_of(d.canary.revision) if d.HasField("canary") else None
            address = rollouts.address()
            moved = bool(address) and d.endpoint.address != address
            if moved:
                d.endpoint.address = address
            for number, outcome in outcomes.items():
                r = await self._repo.get_revision(session, deployment_id, number)
                if isinstance(outcome, H):
                    if number == current:
                        d.health.CopyFrom(outcome)
                    elif number == canary:
                        d.canary.health.CopyFrom(outcome)
                    if moved:
                        await rollouts.emit_registry(session, d, number, r.model_version, VD.STATE_SERVING,
                                                     d.canary.traffic_percent if number == canary else 100,
                                                     r.creator, "restored after a deployer restart")
                    continue
                status = error_status(outcome.reason, outcome.code, outcome.message)
                r.state = R.STATE_FAILED
                r.error.CopyFrom(status)
                stamp(r.serve_end_time)
                await self._repo.save_revision(session, deployment_id, r)
                health = H(outcome=outcome.outcome, message=outcome.message[:2000])
                stamp(health.check_time)
                d.error.CopyFrom(status)
                if number == current:
                    d.current_revision = ""
                    d.resolved_model_version = ""
                    d.health.CopyFrom(health)
                    d.state = D.STATE_FAILED
                    self._table.unavailable[deployment_id] = f"{outcome.reason}: {outcome.message}"
                else:
                    d.ClearField("canary")
                    self._table.set_canary(deployment_id, None)
                    if d.state != D.STATE_FAILED:
                        d.state = D.STATE_ROLLED_BACK if d.current_revision else D.STATE_FAILED
                await rollouts.emit_registry(session, d, number, r.model_version, VD.STATE_FAILED, 0, r.creator,
                                             f"not restored after a deployer restart: {outcome.message}")
            stamp(d.update_time)
            await self._repo.save(session, d, generation=generation)

