"""Devices, the queue and worker processes: at most one job per device, each in its own process.

The scheduler discovers its devices (each CUDA GPU, else one CPU device), starts queued jobs in order of
priority then creation on free devices, watches each worker (its event frames, its exit), restarts crashed
workers from the last checkpoint per ``max_restarts``, and on start-up resumes the jobs that were RUNNING
when the service stopped, without consuming a restart.

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
runs as a Kubeflow ``PyTorchJob`` instead, on no device of the trainer's: the same spec is submitted with the
attempt, rank 0 streams its events back over ``ReportWorkerEvents``, and an attempt whose pods end without a
terminal event is restarted from the last checkpoint (a new attempt, a new ``PyTorchJob``) or failed per
``max_restarts``, as a local worker that exits. A job left RUNNING on Kubernetes when the service stopped is
adopted at the next start (its pods kept running), not relaunched.
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
from lathe.kit.artifacts import ChecksumMismatch, FolderRef, fetch_folder
from lathe.kit.errors import DataLoss, FailedPrecondition, NotFound
from lathe.kit.manifest import FileEntry
from lathe.kit.peers import Peers
from lathe.registry.v1 import model_version_pb2, registry_service_pb2
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_event_pb2, training_job_pb2
from services.trainer.adapters.frames import HEADER, JOB_ENV, MAX_FRAME
from services.trainer.adapters.remote import RemoteRun, RemoteWorkers
from services.trainer.adapters.store import JobStore
from services.trainer.domain.config import total_steps
from services.trainer.recipes import qa_data

_log = structlog.get_logger("lathe.trainer.scheduler")
Event = training_event_pb2.TrainingEvent
State = training_job_pb2.TrainingJob.State
REPO_ROOT = Path(__file__).resolve().parents[3]


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
                 distributed_timeout_seconds: float = 300.0, remote: RemoteWorkers | None = None) -> None:
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

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Recover jobs left RUNNING or CANCELLING by a previous run, then start scheduling."""
        for job_id, _, _ in await self.store.jobs_in([State.STATE_CANCELLING]):
            job, _, _ = await self.store.get(job_id)
            await self.store.append(job_id, [Event(job_cancelled=Event.JobCancelled(step=job.step))])
        self._recover = [job_id for job_id, _, _ in await self.store.jobs_in([State.STATE_RUNNING])]
        self._task = asyncio.create_task(self._run(), name="trainer-scheduler")

    async def stop(self) -> None:
        """Stop scheduling and kill the workers; their jobs stay RUNNING and resume at the next start."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
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
        self.store.forget()

    def wake(self) -> None:
        """Re-examine the queue soon (a job was created, cancelled, or a device freed)."""
        self._wake.set()

    def worker_pid(self, job_id: str) -> int | None:
        """The process id of the job's worker, if one runs."""
        worker = self.workers.get(job_id)
        return worker.process.pid if worker else None

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
            job, _, attempt = await self.store.get(job_id)
            if self.remote is not None and self.remote.takes(job):
                self._recover.pop(0)  # its pods kept running: follow them again, do not relaunch
                self._follow_remote(self.remote.adopt(job_id, attempt))
                continue
            devices = self._free_devices(job)
            if devices is None:
                return
            self._recover.pop(0)
            await self._launch(job_id, devices, reason=Event.WorkerRestarted.REASON_SERVICE_RESTARTED)
        for job_id, _, _ in await self.store.jobs_in([State.STATE_QUEUED]):
            if self._stopping:
                return
            job, _, _ = await self.store.get(job_id)
            devices = [] if self.runs_remotely(job) else self._free_devices(job)
            if devices is None:
                continue
            await self._launch(job_id, devices)

    # ------------------------------------------------------------------ launching

    async def _launch(self, job_id: str, devices: list[Device], *, reason: int | None = None, exit_code: int = 0,
                      last_step: int = 0, cause: str = "") -> None:
        """Start the job's next attempt on ``devices`` (none: as a PyTorchJob); fail the job if that fails."""
        for device in devices:
            self.busy[device.name] = job_id
        try:
            await self._launch_on(job_id, devices, reason=reason, exit_code=exit_code, last_step=last_step,
                                  cause=cause)
        except Exception as exc:
            self._release(job_id, devices)
            _log.exception("worker_launch_failed", job=job_id)
            await self._fail(job_id, "WORKER_LAUNCH_FAILED", f"could not start the worker: {exc}", last_step)
            self.wake()

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
        parent_folder = await self._parent_folder(job) if job.parent_model_version else None
        train_tokens = qa_data.training_questions(data_dir) if job.recipe in qa_data.QA_RECIPES \
            else (data_dir / "train.txt").stat().st_size
        steps = total_steps(job, train_tokens)
        attempt += 1
        work_dir = self.home / "trainer" / "work" / job_id
        work_dir.mkdir(parents=True, exist_ok=True)
        spec = {"job": base64.b64encode(job.SerializeToString()).decode(), "job_name": job.name,
                "attempt": attempt, "device": "cuda" if device.kind == cfg.DEVICE_KIND_CUDA else "cpu",
                "device_name": device.name, "devices": rank_devices, "world_size": world, "threads": threads,
                "distributed_timeout_seconds": self.distributed_timeout, "data_dir": str(data_dir),
                "artifact_root": self.artifact_root, "work_dir": str(work_dir),
                "resume": resume, "parent_folder": str(parent_folder) if parent_folder else None,
                "total_steps": steps}
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
        await self.store.append(job_id, events, attempt=attempt)
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
                await self.store.append(job_id, _start_events(
                    job, reason=reason, exit_code=exit_code, last_step=last_step, cause=cause, resume=resume,
                    rank_devices=rank_devices, steps=steps, pid=0, host=run.name), attempt=attempt)
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
            if self._stopping:
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
        if not target.is_dir():
            await asyncio.to_thread(_fetch_version, version.name, folder, target)
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
        version = await self.peers.registry().GetModelVersion(
            registry_service_pb2.GetModelVersionRequest(name=job.parent_model_version))
        return await self.version_folder(version)

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
        if device_freed:
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
        """Ask the job's worker to stop (SIGTERM), and kill it after the grace period; False if none runs."""
        worker = self.workers.get(job_id)
        if worker is None:
            return self._cancel_remote(job_id)
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
