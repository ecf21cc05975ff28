"""Devices, the queue and worker processes: at most one job per device, each in its own process.

The scheduler discovers its devices (each CUDA GPU, else one CPU device), starts queued jobs in order of
priority then creation on free devices, watches each worker (its event frames, its exit), restarts crashed
workers from the last checkpoint per ``max_restarts``, and on start-up resumes the jobs that were RUNNING
when the service stopped, without consuming a restart.

Several trainers (replicas, one per GPU node) may share the database: a job runs on the trainer its lease names
(``training_jobs.runner``, this trainer's ``instance``). A trainer starts a queued job only after a conditional
UPDATE has made it the runner (the loser of a race skips the job), renews the leases of its jobs every third of
``lease_seconds``, and logs a start only while it still holds the lease. At start-up it resumes its own RUNNING
jobs and those whose lease expired, and every ``lease_seconds`` it takes over the RUNNING jobs of trainers that
died (their leases expired): relaunched from the last checkpoint, or a PyTorchJob adopted, as at a restart.
A job another live trainer runs is left to it; cancelling it here asks that trainer, which sees the cancel when
it next renews the lease.

A job with ``world_size`` N > 1 needs N devices at once: N free GPUs (one rank each, pinned through
``CUDA_VISIBLE_DEVICES``), or, on the CPU, one free CPU device that hosts all N ranks with the device's torch
threads split between them (``cpu_threads // N`` each, at least one; so a CPU job never asks for more ranks
than the device has threads). Its worker is PyTorch's launcher (:mod:`services.trainer.launch`, i.e.
``torchrun --standalone --nproc-per-node=N``) running :mod:`services.trainer.worker` once per rank; the
scheduler supervises the launcher like a one-process worker: rank 0's event frames arrive on the launcher's
inherited stdout, a rank that dies makes the launcher stop the others and exit non-zero, and the job is
restarted from its last checkpoint or failed per ``max_restarts``. The ranks' process group has a timeout
(``trainer_distributed_timeout_seconds``), so a rank left waiting on a dead peer raises instead of hanging.

When the trainer is configured for Kubernetes (:mod:`services.trainer.adapters.remote`), a job large enough
runs as a Kubeflow ``PyTorchJob`` instead, on no device of the trainer's: the spec is submitted with the
attempt, its inputs staged in the artifact store rather than named by the trainer's paths
(:mod:`services.trainer.adapters.staging`), rank 0 streams its events back over ``ReportWorkerEvents``, and
an attempt whose pods end without a terminal event is restarted from the last checkpoint (a new attempt, a
new ``PyTorchJob``) or failed per ``max_restarts``, as a local worker that exits. A job left RUNNING on
Kubernetes when the service stopped is adopted at the next start (its pods kept running), not relaunched.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import structlog
from google.rpc import code_pb2, status_pb2

from lathe.corpus.v1 import corpus_service_pb2, snapshot_pb2
from lathe.kit.artifacts import ChecksumMismatch, FolderRef, fetch_folder, open_store
from lathe.kit.errors import DataLoss, FailedPrecondition, NotFound
from lathe.kit.manifest import FileEntry
from lathe.kit.peers import Peers
from lathe.registry.v1 import model_version_pb2, registry_service_pb2
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_event_pb2, training_job_pb2
from services.trainer.adapters import staging, version_cache
from services.trainer.adapters.frames import HEADER, JOB_ENV, MAX_FRAME
from services.trainer.adapters.remote import RemoteRun, RemoteWorkers
from services.trainer.adapters.store import JobStore
from services.trainer.domain.config import total_steps
from services.trainer.domain.events import TERMINAL
from services.trainer.recipes import qa_data

_log = structlog.get_logger("lathe.trainer.scheduler")
Event = training_event_pb2.TrainingEvent
State = training_job_pb2.TrainingJob.State
REPO_ROOT = Path(__file__).resolve().parents[3]
# The files of a snapshot's folder in the data cache (written by Scheduler._prepare_data); derived files
# beside them (token caches) are rebuilt where they are needed.
SNAPSHOT_FILES = ("train.txt", "validation.txt", qa_data.QA_FILE)


class LeaseLost(Exception):
    """This trainer's claim on a job lapsed and another trainer took the job over before the launch was logged."""


@dataclass(frozen=True)
class Device:
    """One device jobs are pinned to."""

    name: str
    kind: int
    index: int = 0


def discover_devices(spec: str) -> list[Device]:
    """``auto``: every CUDA GPU, else the CPU; or a comma-separated list such as ``cpu`` or ``cuda:0,cuda:1``."""
    if spec == "auto":
        count = 0
        with contextlib.suppress(Exception):
            import torch

            count = torch.cuda.device_count()
        if count:
            return [Device(f"cuda:{i}", cfg.DEVICE_KIND_CUDA, i) for i in range(count)]
        return [Device("cpu", cfg.DEVICE_KIND_CPU)]
    devices = []
    for name in (part.strip() for part in spec.split(",") if part.strip()):
        if name.startswith("cuda:"):
            devices.append(Device(name, cfg.DEVICE_KIND_CUDA, int(name.split(":")[1])))
        else:
            devices.append(Device(name, cfg.DEVICE_KIND_CPU, len(devices)))
    return devices


@dataclass
class Worker:
    """A running worker process of one job."""

    job_id: str
    devices: list[Device]
    attempt: int
    process: asyncio.subprocess.Process
    cancel_requested: bool = False
    last_step: int = 0
    succeeded: bool = False
    last_error: str = ""
    task: asyncio.Task | None = None
    pending: list[Event] = field(default_factory=list)
    world_size: int = 1


class Scheduler:
    """Assigns queued jobs to free devices and supervises their worker processes."""

    def __init__(self, store: JobStore, peers: Peers, *, devices: list[Device], home: Path, artifact_root: str,
                 cpu_threads: int, cancel_grace_seconds: float, flush_interval: float,
                 distributed_timeout_seconds: float = 300.0, remote: RemoteWorkers | None = None,
                 instance: str = "", lease_seconds: float = 30.0, version_cache_bytes: int = 20 << 30,
                 version_cache_idle_seconds: float = 3600.0) -> None:
        self.store = store
        self.peers = peers
        self.devices = devices
        self.home = home
        self.artifact_root = artifact_root
        self.cpu_threads = cpu_threads
        self.distributed_timeout = distributed_timeout_seconds
        self.cancel_grace = cancel_grace_seconds
        self.flush_interval = flush_interval
        # The attempts run as PyTorchJobs; None when the trainer is not configured for Kubernetes.
        self.remote = remote
        self.workers: dict[str, Worker] = {}
        self.busy: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._recover: list[str] = []
        # Replicas share the database: a job runs where its lease names this trainer (``training_jobs.runner``).
        self.instance = instance or socket.gethostname()
        self.lease_seconds = lease_seconds
        # The budget of the cache of versions read from an S3 store (least recently used beyond it are removed).
        self.version_cache_bytes = version_cache_bytes
        self.version_cache_idle_seconds = version_cache_idle_seconds
        self._owned: set[str] = set()  # jobs claimed here and not ended: the heartbeat renews their leases
        self._lost: set[str] = set()  # jobs another trainer took over from this one (their leases had expired)
        self._heartbeat: asyncio.Task | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Recover the jobs left RUNNING or CANCELLING by this trainer's previous run, or by a trainer that died
        (their leases expired), then start scheduling and renewing leases. Jobs another live trainer runs are
        left to it."""
        await self._finish_cancelling()
        self._recover = []
        for job_id in await self.store.claimable([State.STATE_RUNNING], self.instance):
            # A PyTorchJob is adopted before the service answers, so its worker's next report finds it here.
            if not await self._adopt_remote(job_id):
                self._recover.append(job_id)
        self._task = asyncio.create_task(self._run(), name="trainer-scheduler")
        self._heartbeat = asyncio.create_task(self._renew_leases(), name="trainer-leases")

    async def stop(self) -> None:
        """Stop scheduling and kill the workers; their jobs stay RUNNING and resume at the next start (of this
        trainer, or sooner on another replica)."""
        self._stopping = True
        for task in (self._task, self._heartbeat):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.remote is not None:
            for task in self.remote.stop():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for worker in list(self.workers.values()):
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()
        for worker in list(self.workers.values()):
            if worker.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await worker.task
        # The jobs stay RUNNING but nobody runs them now (a PyTorchJob's pods run on, with nobody following):
        # their leases end here rather than a lease period later, so the other replicas take them over at their
        # next look (at most a lease period) instead of waiting for a renewal that will not come. The runner stays
        # this trainer, so a trainer restarted under the same name resumes them at once, as before replicas.
        with contextlib.suppress(Exception):
            await self.store.renew(self.instance, sorted(self._owned), 0)
        self.store.forget()

    def wake(self) -> None:
        """Re-examine the queue soon (a job was created, cancelled, or a device freed)."""
        self._wake.set()

    def worker_pid(self, job_id: str) -> int | None:
        """The process id of the job's worker, if one runs."""
        worker = self.workers.get(job_id)
        return worker.process.pid if worker else None

    # ------------------------------------------------------------------ leases

    async def _renew_leases(self) -> None:
        """Every third of a lease period renew the leases of the jobs claimed here (and act on what other replicas
        did to them); every lease period look for jobs whose trainer died, to take them over."""
        loop = asyncio.get_running_loop()
        next_scan = loop.time() + self.lease_seconds  # start() has just looked
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self._renew_once()
                if loop.time() >= next_scan:
                    next_scan = loop.time() + self.lease_seconds
                    await self._take_over()
            except Exception:
                _log.exception("lease_renewal_failed", instance=self.instance)

    async def _renew_once(self) -> None:
        owned = sorted(self._owned)
        now = await self.store.renew(self.instance, owned, self.lease_seconds)
        for job_id in owned:
            if job_id not in self._owned:
                continue  # it ended meanwhile
            state, runner = now.get(job_id, (State.STATE_UNSPECIFIED, ""))
            if runner != self.instance:
                self._lose(job_id, runner)
            elif state in TERMINAL:
                self._owned.discard(job_id)
                worker = self.workers.get(job_id)
                if worker is not None and not worker.succeeded and not worker.cancel_requested:
                    await self.cancel(job_id)  # it was ended through another replica (a cancel, say)
            elif state == State.STATE_CANCELLING:
                await self._cancel_owned(job_id)

    async def _cancel_owned(self, job_id: str) -> None:
        """Stop the worker of a job of this trainer's that was cancelled through another replica; end it as
        cancelled at once when nothing of it runs here."""
        worker = self.workers.get(job_id)
        run = self.remote.runs.get(job_id) if self.remote is not None else None
        if worker is not None or run is not None:
            requested = worker.cancel_requested if worker is not None else bool(run and run.cancel_requested)
            if not requested:
                await self.cancel(job_id)
            return
        job, _, _ = await self.store.get(job_id)
        await self.store.append(job_id, [Event(job_cancelled=Event.JobCancelled(step=job.step))],
                                only_if=lambda j: j.state == State.STATE_CANCELLING)
        self._owned.discard(job_id)

    def _lose(self, job_id: str, runner: str) -> None:
        """This trainer's lease on the job lapsed (renewals failed for a lease period) and another trainer took
        it over: stop the worker here, writing nothing more to its log; a PyTorchJob's pods stay to the other."""
        _log.error("job_lease_lost", job=job_id, instance=self.instance, runner=runner or None)
        self._owned.discard(job_id)
        self._lost.add(job_id)
        worker = self.workers.get(job_id)
        if worker is not None:
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()
        run = self.remote.runs.get(job_id) if self.remote is not None else None
        if run is not None and self.remote is not None:
            self.remote.forget(run)
            run.poke.set()

    async def _take_over(self) -> None:
        """Queue for recovery the RUNNING jobs whose lease expired (their trainer died, or stopped), and end the
        CANCELLING ones nobody runs any more."""
        await self._finish_cancelling()
        orphans = [job_id for job_id in await self.store.claimable([State.STATE_RUNNING], self.instance)
                   if job_id not in self._owned and job_id not in self._recover]
        if orphans:
            _log.warning("jobs_taken_over", jobs=orphans, instance=self.instance)
            self._recover.extend(orphans)
            self.wake()

    async def _finish_cancelling(self) -> None:
        """End as cancelled the jobs left CANCELLING with nobody running them: this trainer's own from its
        previous run, and those of a trainer that died (their workers died with it)."""
        for job_id in await self.store.claimable([State.STATE_CANCELLING], self.instance):
            if job_id in self._owned or not await self._claim(job_id, [State.STATE_CANCELLING]):
                continue
            job, _, _ = await self.store.get(job_id)
            await self.store.append(job_id, [Event(job_cancelled=Event.JobCancelled(step=job.step))],
                                    only_if=lambda j: j.state == State.STATE_CANCELLING)
            self._owned.discard(job_id)

    async def _run(self) -> None:
        while True:
            try:
                await self._schedule()
            except Exception:
                _log.exception("scheduling_failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=2.0)

    @property
    def max_cpu_ranks(self) -> int:
        """The most ranks a CPU device hosts: one torch thread each at least."""
        return max(self.cpu_threads, 1)

    def _free_devices(self, job: training_job_pb2.TrainingJob) -> list[Device] | None:
        """The devices the job would run on now (one per rank; one CPU device for all CPU ranks), or None."""
        request = job.scheduling.device_request
        world = max(job.scheduling.world_size, 1)
        free = [d for d in self.devices if d.name not in self.busy and (not request.device or request.device == d.name)
                and (not request.kind or request.kind == d.kind)]
        if world == 1:
            return free[:1] or None
        gpus = [d for d in free if d.kind == cfg.DEVICE_KIND_CUDA]
        if request.kind == cfg.DEVICE_KIND_CUDA or (not request.kind and any(
                d.kind == cfg.DEVICE_KIND_CUDA for d in self.devices)):
            return gpus[:world] if len(gpus) >= world else None
        cpus = [d for d in free if d.kind == cfg.DEVICE_KIND_CPU]
        return cpus[:1] or None

    def runs_remotely(self, job: training_job_pb2.TrainingJob) -> bool:
        """Whether ``job`` runs as a Kubernetes PyTorchJob rather than on this trainer's devices."""
        return self.remote is not None and self.remote.takes(job)

    async def _schedule(self) -> None:
        while self._recover:
            job_id = self._recover[0]
            job, _, _ = await self.store.get(job_id)
            if job_id in self._owned:  # already resumed here (listed twice by a takeover scan meanwhile)
                self._recover.pop(0)
                continue
            if self.runs_remotely(job):
                self._recover.pop(0)
                await self._adopt_remote(job_id)
                continue
            devices = self._free_devices(job)
            if devices is None:
                return
            self._recover.pop(0)
            await self._launch(job_id, devices, reason=Event.WorkerRestarted.REASON_SERVICE_RESTARTED)
        # Queued jobs no other trainer is starting; the claim in _launch settles a race for the same one.
        for job_id in await self.store.claimable([State.STATE_QUEUED], self.instance):
            if self._stopping:
                return
            if job_id in self._owned:
                continue
            job, _, _ = await self.store.get(job_id)
            devices = [] if self.runs_remotely(job) else self._free_devices(job)
            if devices is None:
                continue
            await self._launch(job_id, devices)

    # ------------------------------------------------------------------ launching

    async def _launch(self, job_id: str, devices: list[Device], *, reason: int | None = None, exit_code: int = 0,
                      last_step: int = 0, cause: str = "") -> None:
        """Start the job's next attempt on ``devices`` (none: as a PyTorchJob) once this trainer holds its lease
        (a queued job's first start, or a restart, a recovery or a takeover of a running one); fail the job if
        the launch fails, which ends the lease with the job."""
        if not await self._claim(job_id, [State.STATE_QUEUED] if reason is None else [State.STATE_RUNNING]):
            self._release(job_id, devices)  # a restart's devices, still held by its ended worker
            return  # another trainer runs it, or it moved on meanwhile
        for device in devices:
            self.busy[device.name] = job_id
        try:
            await self._launch_on(job_id, devices, reason=reason, exit_code=exit_code, last_step=last_step,
                                  cause=cause)
        except LeaseLost:
            _log.warning("job_lease_lost_while_launching", job=job_id, instance=self.instance)
            self._release(job_id, devices)
            self._owned.discard(job_id)
        except Exception as exc:
            self._release(job_id, devices)
            self._owned.discard(job_id)
            _log.exception("worker_launch_failed", job=job_id)
            await self._fail(job_id, "WORKER_LAUNCH_FAILED", f"could not start the worker: {exc}", last_step)
            self.wake()

    async def _adopt_remote(self, job_id: str) -> bool:
        """Follow again a RUNNING job's PyTorchJob (its pods kept running: not relaunched) once this trainer holds
        the job's lease; False when the job does not run on Kubernetes."""
        job, _, _ = await self.store.get(job_id)
        if not self.runs_remotely(job):
            return False
        if await self._claim(job_id, [State.STATE_RUNNING]):
            _, _, attempt = await self.store.get(job_id)
            assert self.remote is not None
            self._follow_remote(self.remote.adopt(job_id, attempt))
        return True

    async def _claim(self, job_id: str, states: list[int]) -> bool:
        """Take (or keep) the job's lease for this trainer if it is in ``states`` and no other live trainer holds
        it (:meth:`JobStore.claim`); False otherwise, and then the job is not this trainer's to run."""
        try:
            claimed = await self.store.claim(job_id, self.instance, states, self.lease_seconds)
        except Exception:
            _log.exception("job_claim_failed", job=job_id)
            claimed = False
        if claimed:
            self._owned.add(job_id)
            self._lost.discard(job_id)
        else:
            # Not renewed any more: a job of this trainer's whose restart could not be claimed is taken over,
            # after its lease, by the next takeover scan (here or on another replica).
            self._owned.discard(job_id)
        return claimed

    def _release(self, job_id: str, devices: list[Device]) -> None:
        for device in devices:
            if self.busy.get(device.name) == job_id:
                self.busy.pop(device.name, None)

    async def _launch_on(self, job_id: str, devices: list[Device], *, reason: int | None, exit_code: int,
                         last_step: int, cause: str = "") -> None:
        job, _, attempt = await self.store.get(job_id)
        if job.state not in (State.STATE_QUEUED, State.STATE_RUNNING):
            self._release(job_id, devices)
            return
        remote = self.remote if self.runs_remotely(job) else None
        # A PyTorchJob's ranks run on the pods' devices of the job's kind, ``ranks_per_pod`` to a pod.
        device = devices[0] if remote is None else \
            Device("cuda", cfg.DEVICE_KIND_CUDA) if remote.on_gpus(job) else Device("cpu", cfg.DEVICE_KIND_CPU)
        world = max(job.scheduling.world_size, 1)
        # One name per rank (the CPU device hosts every rank of a CPU job).
        rank_devices = [d.name for d in devices] if devices and device.kind == cfg.DEVICE_KIND_CUDA \
            else [device.name] * world
        threads = max(1, self.cpu_threads // (world if remote is None else remote.ranks_per_pod))
        data_dir = await self._prepare_data(job)
        resume = await self.store.last_checkpoint(job_id)
        train_tokens = qa_data.training_questions(data_dir) if job.recipe in qa_data.QA_RECIPES \
            else (data_dir / "train.txt").stat().st_size
        steps = total_steps(job, train_tokens)
        attempt += 1
        work_dir = self.home / "trainer" / "work" / job_id
        work_dir.mkdir(parents=True, exist_ok=True)
        spec = {"job": base64.b64encode(job.SerializeToString()).decode(), "job_name": job.name,
                "attempt": attempt, "device": "cuda" if device.kind == cfg.DEVICE_KIND_CUDA else "cpu",
                "device_name": device.name, "devices": rank_devices, "world_size": world, "threads": threads,
                "distributed_timeout_seconds": self.distributed_timeout, "artifact_root": self.artifact_root,
                "resume": resume, "total_steps": steps}
        # A local worker reads the trainer's folders; a PyTorchJob's pods see none of them, so their inputs go
        # through the artifact store and the worker fetches them into its pod's scratch volume.
        spec.update(await self._local_inputs(job, data_dir, work_dir) if remote is None
                    else {"staged": await self._staged_inputs(job, data_dir)})
        spec_path = work_dir / f"attempt-{attempt}.json"
        spec_path.write_text(json.dumps(spec))
        if remote is not None:
            await self._submit_remote(job, spec, attempt, reason=reason, exit_code=exit_code, last_step=last_step,
                                      cause=cause, resume=resume, rank_devices=rank_devices, steps=steps)
            return
        env = dict(os.environ)
        env.pop(JOB_ENV, None)  # a worker started here reports on its pipe, never to a trainer address
        if device.kind == cfg.DEVICE_KIND_CUDA:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(d.index) for d in devices)
        else:
            env["CUDA_VISIBLE_DEVICES"] = ""
            env["OMP_NUM_THREADS"] = str(threads)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
        stderr_path = work_dir / f"attempt-{attempt}.stderr"
        with open(stderr_path, "wb") as stderr:  # noqa: ASYNC230 - a local file, opened once per launch
            process = await asyncio.create_subprocess_exec(
                *worker_command(world, spec_path), stdout=asyncio.subprocess.PIPE,
                stderr=stderr, env=env, cwd=str(REPO_ROOT), limit=MAX_FRAME)
        worker = Worker(job_id, devices, attempt, process, last_step=resume["step"] if resume else 0,
                        world_size=world)
        self.workers[job_id] = worker
        events = _start_events(job, reason=reason, exit_code=exit_code, last_step=last_step, cause=cause,
                               resume=resume, rank_devices=rank_devices, steps=steps, pid=process.pid,
                               host=socket.gethostname())
        if await self.store.append(job_id, events, attempt=attempt, runner=self.instance) is None:
            self.workers.pop(job_id, None)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise LeaseLost(job_id)
        worker.task = asyncio.create_task(self._supervise(worker, stderr_path), name=f"worker-{job_id}")
        _log.info("worker_started", job=job_id, devices=rank_devices, pid=process.pid, attempt=attempt,
                  world_size=world)

    async def _submit_remote(self, job: training_job_pb2.TrainingJob, spec: dict[str, Any], attempt: int, *,
                             reason: int | None, exit_code: int, last_step: int, cause: str,
                             resume: dict[str, Any] | None, rank_devices: list[str], steps: int) -> None:
        """Submit the attempt as a PyTorchJob and log it as started; its worker reports over ReportWorkerEvents."""
        assert self.remote is not None
        job_id = job.name.split("/", 1)[1]
        run = self.remote.adopt(job_id, attempt, acknowledged=0)
        try:
            # Held until the attempt is logged as started, so the worker's first events are stamped with it.
            async with run.lock:
                await self.remote.submit(job, spec, run)
                if await self.store.append(job_id, _start_events(
                        job, reason=reason, exit_code=exit_code, last_step=last_step, cause=cause, resume=resume,
                        rank_devices=rank_devices, steps=steps, pid=0, host=run.name), attempt=attempt,
                        runner=self.instance) is None:
                    await self.remote.kill(run)
                    raise LeaseLost(job_id)
        except BaseException:
            self.remote.forget(run)
            raise
        self._follow_remote(run)
        _log.info("pytorchjob_submitted", job=job_id, name=run.name, namespace=self.remote.namespace,
                  attempt=attempt, world_size=len(rank_devices))

    def _follow_remote(self, run: RemoteRun) -> None:
        run.task = asyncio.create_task(self._supervise_remote(run), name=f"pytorchjob-{run.job_id}")

    async def _supervise_remote(self, run: RemoteRun) -> None:
        """Follow a PyTorchJob attempt to its end; when its pods ended without a terminal event, cancel, restart
        (a new attempt from the last checkpoint) or fail the job, as :meth:`_supervise` does for a local worker."""
        remote = self.remote
        assert remote is not None
        try:
            ended = await remote.follow(run)
            if self._stopping or run.job_id in self._lost:  # a job taken over elsewhere keeps its pods
                return
            if ended is None:
                await remote.finish(run)
                return
            await remote.release(run)
            job, _, _ = await self.store.get(run.job_id)
            if job.state in (State.STATE_SUCCEEDED, State.STATE_FAILED, State.STATE_CANCELLED):
                return
            what = f"the PyTorchJob {remote.namespace}/{run.name} {ended.phase}: {ended.message}"
            if run.cancel_requested or job.state == State.STATE_CANCELLING:
                await self.store.append(run.job_id, [Event(job_cancelled=Event.JobCancelled(step=job.step))])
            elif job.restart_count < job.scheduling.max_restarts:
                _log.warning("pytorchjob_ended_restarting", job=run.job_id, name=run.name, status=ended.phase)
                await self._launch(run.job_id, [], reason=Event.WorkerRestarted.REASON_WORKER_CRASHED,
                                   last_step=job.step, cause=what)
            else:
                reason = "RESTARTS_EXHAUSTED" if job.scheduling.max_restarts else "WORKER_CRASHED"
                detail = f" (the worker's last error: {run.last_error})" if run.last_error else ""
                await self._fail(run.job_id, reason, what + detail, job.step)
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("pytorchjob_supervision_failed", job=run.job_id, name=run.name)

    async def prepare_snapshot(self, snapshot: str) -> Path:
        """The folder of ``snapshot``'s data (text splits, Q-A clusters, embeddings), fetched once."""
        return await self._prepare_data(training_job_pb2.TrainingJob(snapshot=snapshot))

    async def data_dir(self, job: training_job_pb2.TrainingJob) -> Path:
        """The job's snapshot as split text files in the trainer's data cache (fetched once per snapshot)."""
        return await self._prepare_data(job)

    async def parent_folder(self, job: training_job_pb2.TrainingJob) -> Path:
        """The model folder of the job's parent version."""
        return await self._parent_folder(job)

    async def version_folder(self, version: model_version_pb2.ModelVersion) -> Path:
        """A local folder holding a registered version's files: its own folder when ``file://``; for ``s3://``
        a copy in the trainer's cache (``<home>/trainer/versions/<manifest digest>``), fetched once and checked
        file by file against the version's manifest (DATA_LOSS naming the file when one differs)."""
        parsed = urlparse(version.artifact_uri)
        if parsed.scheme != "s3":
            return Path(unquote(parsed.path))
        folder = FolderRef(version.artifact_uri, tuple(
            FileEntry(f.path, f.size_bytes, f.sha256) for f in version.manifest.files))
        if folder.digest != version.manifest.digest:
            raise DataLoss(f"the manifest of {version.name} does not hash to its digest {version.manifest.digest}",
                           reason="ARTIFACT_CHECKSUM_MISMATCH")
        target = self.home / "trainer" / "versions" / folder.digest.removeprefix("sha256:")
        if target.is_dir():
            await asyncio.to_thread(version_cache.touch, target)
            return target
        await asyncio.to_thread(_fetch_version, version.name, folder, target)
        removed = await asyncio.to_thread(version_cache.prune, target.parent, self.version_cache_bytes, keep=target,
                                          min_idle_seconds=self.version_cache_idle_seconds)
        if removed:
            _log.info("version_cache_pruned", removed=[e.path.name for e in removed],
                      freed_bytes=sum(e.size_bytes for e in removed))
        return target

    async def _prepare_data(self, job: training_job_pb2.TrainingJob) -> Path:
        """The snapshot's splits as text files (and its Q-A clusters with their embeddings, for the Q-A
        recipes), fetched once per snapshot into the trainer's data cache."""
        snapshot_id = job.snapshot.split("/", 1)[1]
        target = self.home / "trainer" / "data" / snapshot_id
        if (target / "validation.txt").exists() and (target / qa_data.QA_FILE).exists():
            return target
        staging = target.with_name(f".{snapshot_id}-{os.getpid()}-{time.monotonic_ns()}")
        staging.mkdir(parents=True)
        corpus = self.peers.corpus()
        for split, filename in ((snapshot_pb2.SPLIT_TRAIN, "train.txt"),
                                (snapshot_pb2.SPLIT_VALIDATION, "validation.txt")):
            with open(staging / filename, "w", encoding="utf-8") as sink:  # noqa: ASYNC230 - local cache file
                previous = ""
                async for response in corpus.ReadSnapshot(corpus_service_pb2.ReadSnapshotRequest(
                        name=job.snapshot, splits=[split], entity_types=[])):
                    for member in response.members:
                        if member.WhichOneof("payload") != "text":
                            continue
                        if previous and previous != member.entity:
                            sink.write("\n\n")
                        previous = member.entity
                        sink.write(member.text.content)
        snapshot = await corpus.GetSnapshot(corpus_service_pb2.GetSnapshotRequest(name=job.snapshot))
        await qa_data.fetch(corpus, job.snapshot, staging, list(snapshot.embedding_models))
        if (target / qa_data.QA_FILE).exists():
            shutil.rmtree(staging, ignore_errors=True)
        else:
            if target.exists():  # a cache written before the Q-A recipes: refreshed once
                shutil.rmtree(target, ignore_errors=True)
            os.replace(staging, target)
        return target

    async def _parent_folder(self, job: training_job_pb2.TrainingJob) -> Path:
        return await self.version_folder(await self._parent_version(job))

    async def _parent_version(self, job: training_job_pb2.TrainingJob) -> model_version_pb2.ModelVersion:
        return await self.peers.registry().GetModelVersion(
            registry_service_pb2.GetModelVersionRequest(name=job.parent_model_version))

    async def _local_inputs(self, job: training_job_pb2.TrainingJob, data_dir: Path, work_dir: Path) -> dict[str, Any]:
        """The folders a worker on this trainer reads: the data cache, the parent version, the job's work folder."""
        parent_folder = await self._parent_folder(job) if job.parent_model_version else None
        return {"data_dir": str(data_dir), "work_dir": str(work_dir),
                "parent_folder": str(parent_folder) if parent_folder else None}

    async def _staged_inputs(self, job: training_job_pb2.TrainingJob, data_dir: Path) -> dict[str, Any]:
        """The snapshot's files, stored in the artifact store, and the parent version's folder by URI and digest:
        what a PyTorchJob's worker fetches (:mod:`services.trainer.adapters.staging`)."""
        parent = None
        if job.parent_model_version:
            version = await self._parent_version(job)
            parent = (version.artifact_uri, version.manifest.digest)
        return await asyncio.to_thread(staging.stage, open_store(self.artifact_root), data_dir, SNAPSHOT_FILES,
                                       parent=parent)

    # ------------------------------------------------------------------ supervising

    async def _supervise(self, worker: Worker, stderr_path: Path) -> None:
        flusher = asyncio.create_task(self._flush_periodically(worker))
        try:
            await self._read_frames(worker)
            code = await worker.process.wait()
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        if self._stopping:
            return
        if worker.job_id in self._lost:  # another trainer took the job over: its log is that trainer's to write
            self.workers.pop(worker.job_id, None)
            self._release(worker.job_id, worker.devices)
            self.wake()
            return
        await self._flush(worker)
        self.workers.pop(worker.job_id, None)
        job, _, _ = await self.store.get(worker.job_id)
        device_freed = True
        if worker.succeeded or job.state in (State.STATE_SUCCEEDED, State.STATE_FAILED, State.STATE_CANCELLED):
            pass
        elif worker.cancel_requested or job.state == State.STATE_CANCELLING:
            await self.store.append(worker.job_id, [Event(job_cancelled=Event.JobCancelled(step=job.step))])
        elif job.restart_count < job.scheduling.max_restarts:
            device_freed = False
            _log.warning("worker_crashed_restarting", job=worker.job_id, exit_code=code)
            await self._launch(worker.job_id, worker.devices, reason=Event.WorkerRestarted.REASON_WORKER_CRASHED,
                               exit_code=code, last_step=job.step)
        else:
            detail = _failed_rank(stderr_path) if worker.world_size > 1 else ""
            detail = detail or worker.last_error or _stderr_tail(stderr_path)
            reason = "RESTARTS_EXHAUSTED" if job.scheduling.max_restarts else "WORKER_CRASHED"
            await self._fail(worker.job_id, reason, f"the worker {_exit_text(code)}: {detail}".strip(), job.step)
        if device_freed:  # the job ended: its lease needs no more renewing
            self._owned.discard(worker.job_id)
            self._release(worker.job_id, worker.devices)
            self.wake()

    async def _fail(self, job_id: str, reason: str, message: str, step: int) -> None:
        from google.protobuf import any_pb2
        from google.rpc import error_details_pb2

        error = status_pb2.Status(code=code_pb2.ABORTED, message=message[:4000])
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="trainer.lathe.dev"))
        error.details.append(detail)
        await self.store.append(job_id, [Event(job_failed=Event.JobFailed(error=error, step=step))],
                                only_if=lambda job: job.state not in (State.STATE_SUCCEEDED, State.STATE_CANCELLED,
                                                                       State.STATE_FAILED))

    async def _read_frames(self, worker: Worker) -> None:
        stream = worker.process.stdout
        assert stream is not None
        while True:
            try:
                header = await stream.readexactly(HEADER.size)
                (length,) = HEADER.unpack(header)
                body = await stream.readexactly(length)
            except asyncio.IncompleteReadError:
                return
            event = Event.FromString(body)
            kind = event.WhichOneof("payload")
            if kind == "step_metrics":
                worker.last_step = event.step_metrics.step
            elif kind == "job_succeeded":
                worker.succeeded = True
            elif kind == "log_message" and event.log_message.severity == Event.LogMessage.SEVERITY_ERROR:
                worker.last_error = event.log_message.message.splitlines()[0]
            worker.pending.append(event)
            if kind in ("job_succeeded", "checkpoint_saved") or len(worker.pending) >= 512:
                await self._flush(worker)

    async def _flush_periodically(self, worker: Worker) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            await self._flush(worker)

    async def _flush(self, worker: Worker) -> None:
        if not worker.pending:
            return
        batch, worker.pending = worker.pending, []
        await self.store.append(worker.job_id, batch)

    # ------------------------------------------------------------------ cancelling

    async def cancel(self, job_id: str) -> bool:
        """Ask the job's worker to stop (SIGTERM), and kill it after the grace period; False if none runs. True
        as well when another live trainer runs the job: that trainer stops its worker when it next renews the
        job's lease, within a third of a lease period, and logs the cancellation."""
        worker = self.workers.get(job_id)
        if worker is None:
            return self._cancel_remote(job_id) or await self.store.runs_elsewhere(job_id, self.instance)
        worker.cancel_requested = True
        with contextlib.suppress(ProcessLookupError):
            worker.process.send_signal(signal.SIGTERM)

        async def kill_later() -> None:
            await asyncio.sleep(self.cancel_grace)
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()

        asyncio.get_running_loop().create_task(kill_later())
        return True

    def _cancel_remote(self, job_id: str) -> bool:
        """Tell the job's PyTorchJob worker to stop (through its event stream) and delete its pods after the grace
        period; False if the job does not run on Kubernetes here."""
        run = self.remote.cancel(job_id) if self.remote is not None else None
        if run is None:
            return False

        async def kill_later() -> None:
            await asyncio.sleep(self.cancel_grace)
            if self.remote is not None and self.remote.current(run):
                await self.remote.kill(run)

        asyncio.get_running_loop().create_task(kill_later())
        return True


def _fetch_version(name: str, folder: FolderRef, target: Path) -> None:
    """Fetch a version's folder into the cache at ``target`` (blocking); the first complete copy wins."""
    staging = target.with_name(f".{target.name}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        fetch_folder(folder, staging)
    except ChecksumMismatch as exc:
        raise DataLoss(f"the artifact of {name} does not match its manifest: {exc.message}",
                       reason="ARTIFACT_CHECKSUM_MISMATCH", metadata=exc.metadata) from None
    except NotFound as exc:
        raise FailedPrecondition(f"the artifact of {name} is incomplete: {exc.message}",
                                 reason="ARTIFACT_UNAVAILABLE", metadata=exc.metadata) from None
    try:
        os.replace(staging, target)
    except OSError:  # another request cached the same folder meanwhile
        shutil.rmtree(staging, ignore_errors=True)


def _start_events(job: training_job_pb2.TrainingJob, *, reason: int | None, exit_code: int, last_step: int, cause: str,
                  resume: dict[str, Any] | None, rank_devices: list[str], steps: int, pid: int,
                  host: str) -> list[Event]:
    """The events of an attempt's launch: ``worker_restarted`` when it is a restart, then ``job_started``."""
    events: list[Event] = []
    if reason is not None:
        remaining = job.scheduling.max_restarts - job.restart_count
        if reason != Event.WorkerRestarted.REASON_SERVICE_RESTARTED:
            remaining -= 1
        status = status_pb2.Status(code=code_pb2.ABORTED, message=cause or _exit_text(exit_code))
        events.append(Event(worker_restarted=Event.WorkerRestarted(
            reason=reason, cause=status, exit_code=exit_code, last_step=last_step or job.step,
            resume_from_step=resume["step"] if resume else 0, restarts_remaining=max(remaining, 0))))
    events.append(Event(job_started=Event.JobStarted(
        devices=rank_devices, worker_pid=pid, host=host, world_size=max(job.scheduling.world_size, 1),
        resumed_from_step=resume["step"] if resume else 0,
        resumed_from_checkpoint=resume["name"] if resume else "", total_steps=steps)))
    return events


def worker_command(world_size: int, spec_path: Path) -> list[str]:
    """The command of a job's worker: the worker itself, or PyTorch's launcher running it once per rank."""
    if world_size <= 1:
        return [sys.executable, "-m", "services.trainer.worker", str(spec_path)]
    return [sys.executable, "-m", "services.trainer.launch", "--standalone", "--nnodes=1",
            f"--nproc-per-node={world_size}", "--max-restarts=0", "--monitor-interval=0.5",
            "-m", "services.trainer.worker", str(spec_path)]


_ROOT_CAUSE = re.compile(r"rank\s*:\s*(\d+).*?exitcode\s*:\s*(-?\d+)", re.S)


def _failed_rank(path: Path) -> str:
    """The first failed rank and its exit, from torchrun's failure summary on stderr ('' when none)."""
    try:
        text = path.read_bytes()[-20000:].decode("utf-8", errors="replace")
    except OSError:
        return ""
    start = text.rfind("Root Cause")
    match = _ROOT_CAUSE.search(text, start if start >= 0 else 0)
    if match is None:
        return ""
    rank, code = int(match.group(1)), int(match.group(2))
    return f"rank {rank} {_exit_text(code)}"


def _exit_text(code: int) -> str:
    if code < 0:
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _stderr_tail(path: Path, limit: int = 2000) -> str:
    try:
        data = path.read_bytes()[-limit:]
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


def env_info() -> dict[str, Any]:
    """What the scheduler runs on (for logs)."""
    return {"python": sys.executable, "repo": str(REPO_ROOT)}
