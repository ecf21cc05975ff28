"""Jobs run as Kubeflow ``PyTorchJob``s: submitting an attempt, receiving its rank 0's events, following it.

When the trainer is configured for Kubernetes (``LATHE_TRAINER_KUBERNETES_NAMESPACE``), a job whose
``world_size`` reaches ``trainer_kubernetes_min_world_size`` is not started on the trainer's own devices
(CreateTrainingJob validated it against the cluster's limits,
:class:`services.trainer.domain.config.ClusterLimits`, instead of them): the scheduler stages the attempt's
inputs in the artifact store (:mod:`services.trainer.adapters.staging`), renders it as a ConfigMap (the
worker's spec) and a ``PyTorchJob`` (:func:`services.trainer.adapters.kubeflow.render_pytorch_job`), and
:class:`RemoteWorkers` submits them through a :class:`Cluster`. Rank 0 of the Master pod streams its events
back over ``ReportWorkerEvents`` (:class:`services.trainer.adapters.frames.RemoteEventSink`);
:meth:`RemoteWorkers.receive` appends them through the same ``JobStore.append`` as a local worker's frames,
numbered so a resent copy is dropped. The attempt's progress and result are the worker's events;
:meth:`RemoteWorkers.follow` polls the ``PyTorchJob``'s status only to notice an attempt that ended without a
terminal event (a pod that crashed, was evicted or deleted), which the scheduler then restarts from the last
checkpoint or fails, as it does a local worker that exits.

Restarts are the trainer's, as locally: the ``PyTorchJob`` has ``backoffLimit`` 0, and each restart is a new
attempt (a new ``PyTorchJob`` named ``…-a<attempt>``) that resumes from the job's last checkpoint; a worker
of an older attempt is refused (FAILED_PRECONDITION) and stops.

:class:`KubectlCluster` is the only :class:`Cluster`: ``kubectl create -f -``, ``kubectl get -o json`` and
``kubectl delete`` with the trainer pod's service account (RBAC in deploy/k8s/components/kubeflow-training).
The trainer image carries a pinned kubectl (the Dockerfile's ``kubectl`` stage, checked against its
published sha256). No cluster exists where this was written: the kubectl calls and the training operator's
status conditions are implemented from their documentation and tested against a stand-in ``kubectl`` only,
with the pod's command run as a local process (tests/trainer/integration/test_kubernetes_jobs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from lathe.kit.errors import FailedPrecondition, InvalidArgument
from lathe.trainer.v1 import trainer_service_pb2, training_config_pb2, training_event_pb2, training_job_pb2
from services.trainer.adapters import kubeflow
from services.trainer.adapters.store import JobStore
from services.trainer.adapters.tables import training_events
from services.trainer.domain.config import ClusterLimits
from services.trainer.domain.events import TERMINAL

_log = structlog.get_logger("lathe.trainer.remote")
Event = training_event_pb2.TrainingEvent
Request = trainer_service_pb2.ReportWorkerEventsRequest
Response = trainer_service_pb2.ReportWorkerEventsResponse
# How far back the log is searched for the last event a worker reported, when a stream opens on an attempt
# whose position is not in memory (the trainer restarted): only the trainer's own events can follow it.
RECOVERY_WINDOW = 200


@dataclass(frozen=True)
class PodJobStatus:
    """Where a ``PyTorchJob`` stands: ``pending``, ``running``, ``succeeded``, ``failed`` or ``missing``."""

    phase: str
    message: str = ""

    @property
    def ended(self) -> bool:
        """Whether its pods are done (or gone)."""
        return self.phase in ("succeeded", "failed", "missing")


def pytorch_job_status(obj: dict[str, Any]) -> PodJobStatus:
    """The status of a ``PyTorchJob`` object from its conditions (the training operator's ``JobCondition``s:
    ``Created``, ``Running``, ``Restarting``, ``Succeeded``, ``Failed``, each with ``status`` "True"/"False")."""
    conditions = [c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("status") == "True"]
    for kind in ("Failed", "Succeeded"):
        for condition in conditions:
            if condition.get("type") == kind:
                text = condition.get("message") or condition.get("reason") or kind
                return PodJobStatus(kind.lower(), text)
    if any(c.get("type") == "Running" for c in conditions):
        return PodJobStatus("running")
    return PodJobStatus("pending")


class Cluster(Protocol):
    """Where ``PyTorchJob``s run: create the rendered objects, read a job's status, delete an attempt."""

    async def create(self, objects: list[dict[str, Any]]) -> None:
        """Create ``objects`` (an attempt's ConfigMap and ``PyTorchJob``); ones that already exist are kept."""

    async def status(self, namespace: str, name: str) -> PodJobStatus:
        """The status of the ``PyTorchJob`` ``name``; phase ``missing`` when it does not exist."""

    async def delete(self, namespace: str, name: str) -> None:
        """Delete the ``PyTorchJob`` ``name`` (its pods with it) and its spec ConfigMap, if they exist."""


class KubectlCluster:
    """A :class:`Cluster` through ``kubectl`` (with the trainer pod's in-cluster service account)."""

    RESOURCE = "pytorchjobs.kubeflow.org"

    def __init__(self, kubectl: str = "kubectl", timeout: float = 60.0) -> None:
        self.kubectl = kubectl
        self.timeout = timeout

    async def _run(self, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            self.kubectl, *args, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(process.communicate(stdin), self.timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise RuntimeError(f"kubectl {args[0]} did not answer within {self.timeout:.0f} s") from None
        return process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace").strip()

    async def create(self, objects: list[dict[str, Any]]) -> None:
        """``kubectl create -f -`` of the objects as one ``v1/List``; AlreadyExists (a resubmitted attempt) is
        not an error. RuntimeError with kubectl's message otherwise."""
        document = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}).encode()
        code, _, err = await self._run("create", "-f", "-", "-o", "name", stdin=document)
        if code and "AlreadyExists" not in err:
            raise RuntimeError(f"kubectl create failed: {err}")

    async def status(self, namespace: str, name: str) -> PodJobStatus:
        """``kubectl get pytorchjob -o json``, read by :func:`pytorch_job_status`."""
        code, out, err = await self._run("get", self.RESOURCE, name, "-n", namespace, "-o", "json")
        if code:
            if "NotFound" in err:
                return PodJobStatus("missing", "was deleted")
            raise RuntimeError(f"kubectl get failed: {err}")
        return pytorch_job_status(json.loads(out))

    async def delete(self, namespace: str, name: str) -> None:
        """``kubectl delete`` of the ``PyTorchJob`` and its ConfigMap, without waiting for the pods to go."""
        code, _, err = await self._run("delete", f"{self.RESOURCE}/{name}", f"configmap/{name}-spec", "-n", namespace,
                                       "--ignore-not-found", "--wait=false")
        if code:
            raise RuntimeError(f"kubectl delete failed: {err}")


@dataclass
class RemoteRun:
    """One attempt of a job running as a ``PyTorchJob``."""

    job_id: str
    attempt: int
    name: str
    # The number of the last worker event appended to the log; None until read back from the log (after a
    # trainer restart).
    acknowledged: int | None = 0
    cancel_requested: bool = False
    # The first line of the worker's last error log, for the failure message when its pods fail.
    last_error: str = ""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set when the job starts cancelling: an open stream tells the worker to stop.
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when the worker's stream ends: its pods are about to end, so their status is read at once.
    poke: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None


class RemoteWorkers:
    """The attempts this trainer runs on Kubernetes: submission, their workers' event streams, their status."""

    def __init__(self, store: JobStore, cluster: Cluster, *, namespace: str, image: str, trainer_address: str,
                 limits: ClusterLimits, poll_seconds: float = 10.0, service_account: str = "trainer",
                 environment: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.cluster = cluster
        self.namespace = namespace
        self.image = image
        self.trainer_address = trainer_address
        # Which jobs run here, in pods of how many ranks (the same limits CreateTrainingJob validated them with).
        self.limits = limits
        self.poll_seconds = poll_seconds
        self.service_account = service_account
        # The trainer's artifact-store settings the pods need too (kubeflow.STORE_ENVIRONMENT).
        self.environment = dict(environment or {})
        self.runs: dict[str, RemoteRun] = {}

    @property
    def ranks_per_pod(self) -> int:
        """The ranks (GPUs, or CPU processes) of one pod."""
        return self.limits.ranks_per_pod

    def takes(self, job: training_job_pb2.TrainingJob) -> bool:
        """Whether ``job`` runs on Kubernetes rather than on the trainer's own devices."""
        return self.limits.takes(job.scheduling.world_size)

    @staticmethod
    def on_gpus(job: training_job_pb2.TrainingJob) -> bool:
        """Whether the job's pods ask for GPUs (any device kind but the CPU)."""
        return job.scheduling.device_request.kind != training_config_pb2.DEVICE_KIND_CPU

    async def submit(self, job: training_job_pb2.TrainingJob, spec: dict[str, Any], run: RemoteRun) -> None:
        """Render and create the attempt's ConfigMap (the worker's spec) and ``PyTorchJob``."""
        objects = kubeflow.render_pytorch_job(
            job, spec, image=self.image, namespace=self.namespace, trainer_address=self.trainer_address,
            ranks_per_pod=self.ranks_per_pod, attempt=run.attempt, service_account=self.service_account,
            environment=self.environment)
        await self.cluster.create(objects)

    def adopt(self, job_id: str, attempt: int, *, acknowledged: int | None = None) -> RemoteRun:
        """Register ``attempt`` as the job's current one here: before submitting it (``acknowledged`` 0), or at
        start-up for a job left RUNNING (its position is then read back from the log by the first stream)."""
        run = RemoteRun(job_id, attempt, kubeflow.resource_name(f"trainingJobs/{job_id}", attempt),
                        acknowledged=acknowledged)
        self.runs[job_id] = run
        return run

    def forget(self, run: RemoteRun) -> None:
        """Drop ``run`` if it is still its job's current attempt (its submission failed, or it ended)."""
        if self.current(run):
            self.runs.pop(run.job_id, None)

    def current(self, run: RemoteRun) -> bool:
        """Whether ``run`` is still its job's current attempt here."""
        return self.runs.get(run.job_id) is run

    async def follow(self, run: RemoteRun) -> PodJobStatus | None:
        """Wait until the attempt is over: None when its job reached a terminal state (the worker's events, or
        a cancellation) or the run was replaced; else the ``PyTorchJob``'s status once it ended without the
        job ending: failed, deleted, or succeeded without the worker having reported the job's result."""
        silent_successes = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.poke.wait(), self.poll_seconds)
            run.poke.clear()
            if not self.current(run):
                return None
            job, _, _ = await self.store.get(run.job_id)
            if job.state in TERMINAL:
                return None
            try:
                status = await self.cluster.status(self.namespace, run.name)
            except Exception as exc:  # a cluster hiccup: look again at the next poll
                _log.warning("pytorchjob_status_failed", job=run.job_id, name=run.name, error=str(exc))
                continue
            if status.phase in ("failed", "missing"):
                return status
            if status.phase == "succeeded":
                # The worker's last events may still be on their way: act only if a second look agrees.
                silent_successes += 1
                if silent_successes >= 2:
                    return PodJobStatus("failed", "succeeded, but its worker never reported the job's result")

    async def release(self, run: RemoteRun) -> None:
        """Forget the attempt and delete its ``PyTorchJob`` and ConfigMap (best effort)."""
        self.forget(run)
        try:
            await self.cluster.delete(self.namespace, run.name)
        except Exception as exc:
            _log.warning("pytorchjob_delete_failed", job=run.job_id, name=run.name, error=str(exc))

    async def finish(self, run: RemoteRun, polls: int = 3) -> None:
        """Release an attempt whose job ended through its events, once its pods exited on their own (a few polls
        at most: after the terminal event the worker only closes its stream and leaves)."""
        self.forget(run)
        for _ in range(polls):
            with contextlib.suppress(Exception):
                if (await self.cluster.status(self.namespace, run.name)).ended:
                    break
            await asyncio.sleep(self.poll_seconds)
        await self.release(run)

    async def kill(self, run: RemoteRun) -> None:
        """Delete the attempt's pods now (a cancelled worker that did not stop in time), and look at it."""
        try:
            await self.cluster.delete(self.namespace, run.name)
        except Exception as exc:
            _log.warning("pytorchjob_delete_failed", job=run.job_id, name=run.name, error=str(exc))
        run.poke.set()

    def cancel(self, job_id: str) -> RemoteRun | None:
        """Ask the job's worker to stop at its next step; None if the job does not run here on Kubernetes."""
        run = self.runs.get(job_id)
        if run is None:
            return None
        run.cancel_requested = True
        run.stop.set()
        return run

    def stop(self) -> list[asyncio.Task]:
        """Stop following the attempts (service stop), returning the cancelled tasks; their pods keep running and
        are adopted at the next start."""
        tasks = [run.task for run in self.runs.values() if run.task is not None]
        for task in tasks:
            task.cancel()
        return tasks

    # ------------------------------------------------------------------ the worker's event stream

    def _run_for(self, job_id: str, attempt: int) -> RemoteRun:
        if attempt <= 0:
            raise InvalidArgument.for_field("attempt", "must be the worker's attempt, from 1")
        run = self.runs.get(job_id)
        if run is None:
            raise FailedPrecondition(f"trainingJobs/{job_id} is not running on Kubernetes on this trainer",
                                     reason="NOT_A_REMOTE_JOB", metadata={"name": f"trainingJobs/{job_id}"})
        if attempt != run.attempt:
            raise FailedPrecondition(f"attempt {attempt} of trainingJobs/{job_id} is stale: the job runs attempt "
                                     f"{run.attempt}", reason="STALE_ATTEMPT",
                                     metadata={"attempt": str(run.attempt), "field": "attempt"})
        return run

    async def receive(self, job_id: str, first: Request, requests: AsyncIterator[Request]) -> AsyncIterator[Response]:
        """Append the events of the stream that opened with ``first``; answer each request with the position
        acknowledged, and tell the worker unprompted when the job starts cancelling."""
        run = self._run_for(job_id, first.attempt)
        job, _, _ = await self.store.get(job_id)
        if job.state in TERMINAL:
            raise FailedPrecondition(f"trainingJobs/{job_id} has finished", reason="JOB_FINISHED",
                                     metadata={"state": training_job_pb2.TrainingJob.State.Name(job.state)})
        told_to_stop = run.stop.is_set()  # then the first acknowledgement already says so
        request: Request | None = first
        reading: asyncio.Future | None = None
        stopping = asyncio.ensure_future(run.stop.wait())
        try:
            while request is not None:
                yield await self._append(run, request)
                reading = asyncio.ensure_future(anext(requests, None))
                while not reading.done():
                    await asyncio.wait({reading} if told_to_stop else {reading, stopping},
                                       return_when=asyncio.FIRST_COMPLETED)
                    if stopping.done() and not told_to_stop:
                        told_to_stop = True
                        job, _, _ = await self.store.get(job_id)
                        yield Response(acknowledged_sequence=run.acknowledged or 0, job_state=job.state)
                request = reading.result()
        finally:
            for future in (reading, stopping):
                if future is not None and not future.done():
                    future.cancel()
            run.poke.set()

    async def _append(self, run: RemoteRun, request: Request) -> Response:
        """Append the request's events not appended yet, in one transaction; the acknowledgement."""
        async with run.lock:
            if not self.current(run):
                raise FailedPrecondition(f"attempt {run.attempt} of trainingJobs/{run.job_id} is stale",
                                         reason="STALE_ATTEMPT", metadata={"field": "attempt"})
            if request.attempt and request.attempt != run.attempt:
                raise InvalidArgument.for_field("attempt", "must not change within a stream")
            if run.acknowledged is None:
                run.acknowledged = await self._recover(run)
            fresh = self._fresh(run, request)
            if fresh:
                job = await self.store.append(run.job_id, fresh, only_if=lambda j: j.state not in TERMINAL)
                if job is None:
                    raise FailedPrecondition(f"trainingJobs/{run.job_id} has finished", reason="JOB_FINISHED")
                run.acknowledged = fresh[-1].worker_sequence
            else:
                job, _, _ = await self.store.get(run.job_id)
            return Response(acknowledged_sequence=run.acknowledged, job_state=job.state)

    @staticmethod
    def _fresh(run: RemoteRun, request: Request) -> list[Event]:
        """The request's events after the acknowledged one, stripped of what the trainer sets."""
        if not request.events:
            return []
        acknowledged = run.acknowledged or 0
        first = request.first_sequence
        if first < 1:
            raise InvalidArgument.for_field("first_sequence", "must be at least 1 when events are sent")
        if first > acknowledged + 1:
            raise InvalidArgument.for_field(
                "first_sequence", f"is {first}, which leaves a gap after the acknowledged event {acknowledged}")
        fresh = []
        for number, event in enumerate(request.events, start=first):
            if number <= acknowledged:
                continue  # resent after a reconnect: already in the log
            copy = Event()
            copy.CopyFrom(event)
            for name in ("name", "sequence", "attempt", "job_state"):
                copy.ClearField(name)
            copy.worker_sequence = number
            fresh.append(copy)
            if copy.WhichOneof("payload") == "log_message" and \
                    copy.log_message.severity == Event.LogMessage.SEVERITY_ERROR:
                run.last_error = copy.log_message.message.splitlines()[0] if copy.log_message.message else ""
        return fresh

    async def _recover(self, run: RemoteRun) -> int:
        """The number of the attempt's last worker event in the log (0 when it reported none)."""
        recent = await self.store.read_events(run.job_id, 2**62, RECOVERY_WINDOW, descending=True,
                                              where=[training_events.c.attempt == run.attempt])
        return next((e.worker_sequence for e in recent if e.worker_sequence), 0)
