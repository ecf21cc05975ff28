"""Jobs run as Kubeflow PyTorchJobs: submitted with kubectl, their pod's rank 0 streaming into the trainer's log.

There is no cluster here. The trainer submits and follows its PyTorchJobs through its real kubectl code path
pointed at a stand-in ``kubectl`` (a script that keeps the created objects as files and reports the status a
test writes, as the training operator would). The pod is the rendered Master container's own command
(``python -m services.trainer.launch … -m services.trainer.worker spec.json``, two gloo ranks) run as a local
process with the rendered environment: the ConfigMap's spec as its mounted file, the Secret's service token and
S3 keys, the operator's ``PET_*`` rendezvous variables, an empty folder of its own as the scratch volume (and
working directory), and the trainer Service's address replaced by a TCP proxy in front of the real trainer,
which the test uses to cut the worker's connection mid-training. The artifact store is an S3 API server (moto)
on loopback, so the pod shares nothing with the trainer but the store and the RPC: the trainer's data cache is
even deleted before the pod starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path

import grpc
import pytest

from lathe.registry.v1 import registry_service_pb2 as rpb
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_event_pb2
from services.trainer.adapters.kubeflow import SCRATCH_MOUNT, SPEC_MOUNT, resource_name
from services.trainer.adapters.staging import SCRATCH_ENV
from tests.kit.integration.s3_server import use_s3
from tests.trainer.integration.conftest import State, tiny_job, wait_for_event, wait_state

REPO_ROOT = Path(__file__).resolve().parents[3]
FINAL = {State.STATE_SUCCEEDED, State.STATE_FAILED, State.STATE_CANCELLED}
STEPS = 40
NAMESPACE = "lathe-jobs"
SERVICE_ADDRESS = "trainer.lathe.svc.cluster.local:50052"
BUCKET = "lathe-jobs"
Request = tpb.ReportWorkerEventsRequest
Event = training_event_pb2.TrainingEvent

# kubectl as far as the trainer uses it (create -f -, get -o json, delete), on objects kept as files.
KUBECTL = '''#!{python}
import json, sys
from pathlib import Path

state = Path({state!r})
args = sys.argv[1:]
with (state / "calls.log").open("a") as log:
    log.write(" ".join(args) + "\\n")


def path(kind, name):
    return state / f"{{kind.lower()}}-{{name}}.json"


if args[:3] == ["create", "-f", "-"]:
    for obj in json.load(sys.stdin)["items"]:
        target = path(obj["kind"], obj["metadata"]["name"])
        if target.exists():
            sys.exit(f'Error from server (AlreadyExists): {{obj["metadata"]["name"]}} already exists')
        target.write_text(json.dumps(obj))
        print(f'{{obj["kind"].lower()}}/{{obj["metadata"]["name"]}}')
elif args[:2] == ["get", "pytorchjobs.kubeflow.org"]:
    target = path("PyTorchJob", args[2])
    if not target.exists():
        sys.exit(f'Error from server (NotFound): pytorchjobs.kubeflow.org "{{args[2]}}" not found')
    obj = json.loads(target.read_text())
    status = state / f"status-{{args[2]}}.json"
    if status.exists():
        obj["status"] = json.loads(status.read_text())
    print(json.dumps(obj))
elif args[0] == "delete":
    for ref in (a for a in args[1:] if "/" in a):
        kind, name = ref.split("/")
        path("PyTorchJob" if kind.startswith("pytorchjobs") else "ConfigMap", name).unlink(missing_ok=True)
else:
    sys.exit(f"unsupported kubectl call: {{args}}")
'''


class StandInCluster:
    """The objects the trainer created through the stand-in kubectl, and the status the operator would report."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True)
        self.kubectl = folder / "kubectl"
        self.kubectl.write_text(KUBECTL.format(python=sys.executable, state=str(folder)))
        self.kubectl.chmod(0o755)

    def object(self, kind: str, name: str) -> dict | None:
        path = self.folder / f"{kind.lower()}-{name}.json"
        with contextlib.suppress(FileNotFoundError):
            return json.loads(path.read_text())
        return None

    async def wait_for(self, kind: str, name: str, limit_s: float = 30) -> dict:
        deadline = time.monotonic() + limit_s
        while (obj := self.object(kind, name)) is None:
            assert time.monotonic() < deadline, f"{kind} {name} was never created"
            await asyncio.sleep(0.1)
        return obj

    async def wait_gone(self, kind: str, name: str, limit_s: float = 30) -> None:
        deadline = time.monotonic() + limit_s
        while self.object(kind, name) is not None:
            assert time.monotonic() < deadline, f"{kind} {name} was never deleted"
            await asyncio.sleep(0.1)

    def fail(self, name: str, message: str) -> None:
        """Report the PyTorchJob as failed, as the training operator does when one of its pods fails."""
        conditions = [{"type": "Created", "status": "True"}, {"type": "Running", "status": "False"},
                      {"type": "Failed", "status": "True", "reason": "PyTorchJobFailed", "message": message}]
        (self.folder / f"status-{name}.json").write_text(json.dumps({"conditions": conditions}))


class Proxy:
    """A TCP proxy in front of the trainer that can cut every open connection (a network fault)."""

    def __init__(self, upstream: str) -> None:
        self.host, port = upstream.rsplit(":", 1)
        self.port = int(port)
        self.accepted = 0
        self._open: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self._open.append((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for a, b in self._open:
            a.transport.abort()
            b.transport.abort()
        self._open.clear()

    async def close(self) -> None:
        self.cut()
        self._server.close()


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Training jobs run on PostgreSQL only (each costs seconds of CPU)."""
    return postgres_url


async def on_kubernetes(suite, folder: Path, **overrides) -> StandInCluster:
    """Restart the suite's trainer with Kubernetes on: jobs of two ranks or more become PyTorchJobs of two-rank
    pods, submitted through the stand-in kubectl keeping its objects in ``folder``."""
    cluster = StandInCluster(folder)
    suite.trainer_overrides.update(
        trainer_kubernetes_namespace=NAMESPACE, trainer_kubernetes_image="registry.example/lathe:1.0.0",
        trainer_kubernetes_ranks_per_pod=2, trainer_kubernetes_min_world_size=2,
        trainer_kubernetes_trainer_address=SERVICE_ADDRESS, trainer_kubernetes_poll_seconds=0.3,
        trainer_kubectl=str(cluster.kubectl), **overrides)
    await suite.restart_trainer()
    return cluster


@pytest.fixture
async def kube(suite, tmp_path):
    """The suite's trainer on Kubernetes, its artifacts in its local store."""
    return suite, await on_kubernetes(suite, tmp_path / "cluster")


@pytest.fixture
async def kube_s3(suite, tmp_path, s3_endpoint, monkeypatch):
    """The suite's trainer on Kubernetes with its artifacts in an S3 bucket; the boto3 client of the bucket."""
    raw = use_s3(monkeypatch, s3_endpoint, BUCKET)
    return suite, await on_kubernetes(suite, tmp_path / "cluster", artifact_root=f"s3://{BUCKET}/lathe"), raw


def two_rank_cpu_job(snapshot: str, **scheduling):
    job = tiny_job(snapshot, steps=STEPS, checkpoint_every=20, width=32, batch=8)
    job.scheduling.world_size = 2
    job.scheduling.device_request.kind = cfg.DEVICE_KIND_CPU
    for key, value in scheduling.items():
        setattr(job.scheduling, key, value)
    return job


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_pod(pytorch_job: dict, config_map: dict, folder: Path, *, trainer: str, token: str):
    """Start the Master pod's container command as a local process, with its rendered environment: the mounted
    ConfigMap in ``folder/spec``, an empty ``folder/scratch`` as its scratch volume and working directory (the
    image's), and no ``LATHE_*`` variable of this process's (the S3 keys stand for the lathe-secrets Secret)."""
    (folder / "spec").mkdir(parents=True)
    (folder / "scratch").mkdir()
    (folder / "spec" / "spec.json").write_text(config_map["data"]["spec.json"])
    container = pytorch_job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LATHE_", "PET_"))}
    env.update({e["name"]: e["value"] for e in container["env"] if "value" in e})
    assert env["LATHE_TRAINER_ADDRESS"] == SERVICE_ADDRESS and env[SCRATCH_ENV] == SCRATCH_MOUNT
    env.update({SCRATCH_ENV: str(folder / "scratch"), "LATHE_TRAINER_ADDRESS": trainer,  # the volume; the Service
                "LATHE_SERVICE_TOKEN": token,  # from the lathe-secrets Secret
                "PET_NNODES": "1", "PET_NODE_RANK": "0", "PET_MASTER_ADDR": "127.0.0.1",
                "PET_MASTER_PORT": str(free_port()), "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO_ROOT)})
    args = [str(folder / "spec" / "spec.json") if a == f"{SPEC_MOUNT}/spec.json" else a for a in container["args"]]
    assert container["command"][0] == "python"
    log = (folder / "pod.log").open("wb")
    return await asyncio.create_subprocess_exec(sys.executable, *container["command"][1:], *args, env=env,
                                                cwd=str(folder / "scratch"), stdout=log, stderr=log)


async def report(stub, *requests: Request) -> list[tpb.ReportWorkerEventsResponse]:
    """One ReportWorkerEvents stream sending ``requests``; the responses."""
    async def send():
        for request in requests:
            yield request

    return [response async for response in stub.ReportWorkerEvents(send())]


async def events_of(stub, name: str) -> list:
    return list((await stub.ListTrainingEvents(tpb.ListTrainingEventsRequest(parent=name, page_size=1000))).events)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_pytorchjob_pod_streams_its_progress_into_the_log_once_through_a_cut_connection(
        kube_s3, tmp_path) -> None:
    suite, cluster, bucket = kube_s3
    stub = suite.trainer()
    worker_stub = suite.trainer(suite.tokens.service)
    spec = two_rank_cpu_job(suite.snapshot)
    spec.model = "models/on-kubernetes"
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=spec))
    name = resource_name(job.name, 1)
    pytorch_job = await cluster.wait_for("PyTorchJob", name)
    config_map = cluster.object("ConfigMap", f"{name}-spec")
    assert pytorch_job["metadata"]["namespace"] == NAMESPACE and config_map is not None
    pod_spec = json.loads(config_map["data"]["spec.json"])
    assert pod_spec["attempt"] == 1

    # The pod is told no folder of the trainer's: its data are staged in the bucket, by digest.
    home = suite.trainer_server.scheduler.home
    assert str(home) not in json.dumps(config_map) and str(home) not in json.dumps(pytorch_job)
    assert not {"data_dir", "work_dir", "parent_folder"} & set(pod_spec)
    staged = {f["name"]: f for f in pod_spec["staged"]["data"]}
    assert set(staged) == {"train.txt", "validation.txt", "qa.json"}
    trainer_data = home / "trainer" / "data" / suite.snapshot.split("/")[1]
    for file in staged.values():
        assert file["uri"] == f"s3://{BUCKET}/lathe/sha256/{file['sha256'][:2]}/{file['sha256']}"
        assert file["sha256"] == sha256_of(trainer_data / file["name"])
        head = bucket.head_object(Bucket=BUCKET, Key=file["uri"].removeprefix(f"s3://{BUCKET}/"))
        assert head["ContentLength"] == file["size_bytes"]
    shutil.rmtree(home / "trainer" / "data")  # nothing of the trainer's disk can be what the pod trains on
    # Launched remotely: RUNNING with no worker process of the trainer's own.
    running = await wait_state(stub, job.name, {State.STATE_RUNNING}, limit_s=30)
    assert list(running.devices) == ["cpu", "cpu"]
    assert suite.trainer_server.scheduler.worker_pid(job.name.split("/")[1]) is None

    # Not a service: refused; an unknown job: not found.
    for token in (suite.tokens.alice, suite.tokens.admin):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await report(suite.trainer(token), Request(name=job.name, attempt=1))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await report(worker_stub, Request(name="trainingJobs/no-such-job", attempt=1))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await report(worker_stub, Request(name=job.name, attempt=2))
    assert stale.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "stale" in stale.value.details()

    watched: list[tuple[float, object]] = []

    async def watch() -> None:
        async for response in stub.WatchTrainingEvents(tpb.WatchTrainingEventsRequest(parent=job.name)):
            if response.WhichOneof("kind") == "event":
                watched.append((time.monotonic(), response.event))

    watcher = asyncio.create_task(watch())
    proxy = Proxy(suite.trainer_server.address)
    pod = await run_pod(pytorch_job, config_map, tmp_path / "pod", trainer=await proxy.start(),
                        token=suite.tokens.service)
    try:
        await wait_for_event(stub, job.name, "step_metrics", lambda e: e.step_metrics.step >= 8, limit_s=60)
        proxy.cut()  # the worker's connection drops mid-training: it reconnects and resends what was unacknowledged
        # A reconnecting worker's resend, made explicitly: the first three events again on a second stream.
        logged = [e for e in await events_of(stub, job.name) if e.worker_sequence]
        first_three = [e for e in logged if e.worker_sequence <= 3]
        (ack,) = await report(worker_stub, Request(name=job.name, attempt=1, first_sequence=1, events=first_three))
        assert ack.acknowledged_sequence >= len(logged) and ack.job_state == State.STATE_RUNNING
        with pytest.raises(grpc.aio.AioRpcError) as gap:
            await report(worker_stub, Request(name=job.name, attempt=1, first_sequence=ack.acknowledged_sequence + 50,
                                              events=first_three[:1]))
        assert gap.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "first_sequence" in gap.value.details()
        done = await wait_state(stub, job.name, FINAL, limit_s=90)
        code = await asyncio.wait_for(pod.wait(), 30)
        pod_ended = time.monotonic()
    finally:
        if pod.returncode is None:
            pod.kill()
            await pod.wait()
        await proxy.close()
    log = (tmp_path / "pod" / "pod.log").read_text(errors="replace")
    assert done.state == State.STATE_SUCCEEDED, f"{done.error.message}\n{log[-3000:]}"
    assert code == 0, log[-3000:]
    assert proxy.accepted >= 2, "the worker never reconnected after the cut"
    # It trained on the staged files, fetched into its scratch volume; its checkpoints and model are in the bucket.
    scratch = tmp_path / "pod" / "scratch"
    assert {p.name: sha256_of(p) for p in (scratch / "data").iterdir() if p.name in staged} == \
        {n: f["sha256"] for n, f in staged.items()}
    assert sorted(p.name for p in (scratch / "work").glob("attempt-1.rank-*.json")) == \
        ["attempt-1.rank-0.json", "attempt-1.rank-1.json"]
    assert done.checkpoints and all(c.uri.startswith(f"s3://{BUCKET}/lathe/sha256/") for c in done.checkpoints)
    assert done.artifact_uri.startswith(f"s3://{BUCKET}/lathe/models/")

    # Every event once: the worker's numbers are 1..n without a repeat or a gap, every step reported once.
    events = await events_of(stub, job.name)
    numbers = [e.worker_sequence for e in events if e.worker_sequence]
    assert numbers == list(range(1, len(numbers) + 1))
    assert [e.step_metrics.step for e in events if e.WhichOneof("payload") == "step_metrics"] == \
        list(range(1, STEPS + 1))
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds.count("job_succeeded") == 1 and all(e.attempt == 1 for e in events[1:])
    started = [e.job_started for e in events if e.WhichOneof("payload") == "job_started"]
    # The trainer's (naming the PyTorchJob), then rank 0's from the pod (both ranks ran: world size 2).
    assert started[0].host == name and [s.world_size for s in started] == [2, 2]

    # The watcher saw the same log up to its end (the success), live: progress arrived while the pod trained.
    await asyncio.wait_for(watcher, 10)
    assert [e.sequence for _, e in watched] == [e.sequence for e in events][:kinds.index("job_succeeded") + 1]
    first_step = next(t for t, e in watched if e.WhichOneof("payload") == "step_metrics")
    assert first_step < pod_ended - 1.0

    # Registered once, like a local job.
    for _ in range(100):
        registered = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=job.name))
        if registered.model_version:
            break
        await asyncio.sleep(0.2)
    versions = await suite.registry().ListModelVersions(rpb.ListModelVersionsRequest(parent="models/on-kubernetes"))
    assert [v.name for v in versions.model_versions] == [registered.model_version]

    # The finished attempt's objects are deleted, and its worker may report no more.
    await cluster.wait_gone("PyTorchJob", name)
    assert cluster.object("ConfigMap", f"{name}-spec") is None
    with pytest.raises(grpc.aio.AioRpcError) as finished:
        await report(worker_stub, Request(name=job.name, attempt=1, first_sequence=1, events=first_three))
    assert finished.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_pytorchjob_that_fails_without_a_result_is_restarted_as_a_new_attempt_then_fails_the_job(kube):
    suite, cluster = kube
    stub = suite.trainer()
    worker_stub = suite.trainer(suite.tokens.service)
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=two_rank_cpu_job(suite.snapshot, max_restarts=1)))
    first, second = resource_name(job.name, 1), resource_name(job.name, 2)
    await cluster.wait_for("PyTorchJob", first)
    staged_first = json.loads(cluster.object("ConfigMap", f"{first}-spec")["data"]["spec.json"])["staged"]
    await wait_state(stub, job.name, {State.STATE_RUNNING}, limit_s=30)
    cluster.fail(first, "PyTorchJob lathe-jobs/x is failed because 1 Master replica(s) failed.")

    restarted = await wait_for_event(stub, job.name, "worker_restarted", limit_s=30)
    assert first in restarted.worker_restarted.cause.message
    assert "1 Master replica(s) failed" in restarted.worker_restarted.cause.message
    assert restarted.worker_restarted.restarts_remaining == 0
    config_map = (await cluster.wait_for("ConfigMap", f"{second}-spec"))
    assert json.loads(config_map["data"]["spec.json"])["attempt"] == 2
    # The new attempt's inputs are the objects staged for the first one (content-addressed: stored once).
    assert json.loads(config_map["data"]["spec.json"])["staged"] == staged_first
    await cluster.wait_gone("PyTorchJob", first)
    # The first attempt's worker is stale now.
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await report(worker_stub, Request(name=job.name, attempt=1))
    assert stale.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    cluster.fail(second, "pod lathe-x-a2-master-0 was evicted")
    failed = await wait_state(stub, job.name, FINAL, limit_s=30)
    assert failed.state == State.STATE_FAILED and failed.restart_count == 1
    assert second in failed.error.message and "evicted" in failed.error.message
    await cluster.wait_gone("PyTorchJob", second)


async def test_cancelling_a_pytorchjob_tells_its_worker_then_deletes_its_pods(kube) -> None:
    suite, cluster = kube
    stub = suite.trainer()
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=two_rank_cpu_job(suite.snapshot)))
    name = resource_name(job.name, 1)
    await cluster.wait_for("PyTorchJob", name)
    await wait_state(stub, job.name, {State.STATE_RUNNING}, limit_s=30)

    # A worker's open stream (the test speaking for the pod) is told, unprompted, to stop.
    stop, connected = asyncio.Event(), asyncio.Event()
    responses: list[tpb.ReportWorkerEventsResponse] = []

    async def send():
        yield Request(name=job.name, attempt=1)
        await stop.wait()

    async def worker() -> None:
        async for response in suite.trainer(suite.tokens.service).ReportWorkerEvents(send()):
            responses.append(response)
            connected.set()
            if response.job_state == State.STATE_CANCELLING:
                stop.set()

    stream = asyncio.create_task(worker())
    await asyncio.wait_for(connected.wait(), 10)
    await stub.CancelTrainingJob(tpb.CancelTrainingJobRequest(name=job.name))
    await asyncio.wait_for(stream, 10)
    assert [r.job_state for r in responses] == [State.STATE_RUNNING, State.STATE_CANCELLING]

    # The pods do not stop (nothing runs them here): after the grace period they are deleted, and the job cancelled.
    await cluster.wait_gone("PyTorchJob", name)
    done = await wait_state(stub, job.name, FINAL, limit_s=30)
    assert done.state == State.STATE_CANCELLED


async def test_a_restarted_trainer_adopts_its_pytorchjob_and_still_drops_what_the_worker_resends(kube) -> None:
    suite, cluster = kube
    stub = suite.trainer()
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=two_rank_cpu_job(suite.snapshot)))
    name = resource_name(job.name, 1)
    await cluster.wait_for("PyTorchJob", name)
    await wait_state(stub, job.name, {State.STATE_RUNNING}, limit_s=30)

    def line(n: int) -> Event:
        return Event(log_message=Event.LogMessage(severity=Event.LogMessage.SEVERITY_INFO, message=f"line {n}"))

    (ack,) = await report(suite.trainer(suite.tokens.service),
                          Request(name=job.name, attempt=1, first_sequence=1, events=[line(1), line(2)]))
    assert ack.acknowledged_sequence == 2
    await suite.restart_trainer()  # the pods keep running; the new trainer knows the attempt only from the log
    stub = suite.trainer()

    (ack,) = await report(suite.trainer(suite.tokens.service),
                          Request(name=job.name, attempt=1, first_sequence=1, events=[line(1), line(2), line(3)]))
    assert ack.acknowledged_sequence == 3 and ack.job_state == State.STATE_RUNNING
    lines = [e.log_message.message for e in await events_of(stub, job.name) if e.worker_sequence]
    assert lines == ["line 1", "line 2", "line 3"]
    # Adopted, not submitted again; and still followed: its failure fails the job.
    calls = (cluster.folder / "calls.log").read_text().splitlines()
    assert sum(c.startswith("create") for c in calls) == 1
    cluster.fail(name, "pod evicted")
    failed = await wait_state(stub, job.name, FINAL, limit_s=30)
    assert failed.state == State.STATE_FAILED and "evicted" in failed.error.message


async def test_a_job_larger_than_the_trainer_is_accepted_for_the_cluster_in_whole_pods(suite, tmp_path) -> None:
    stub = suite.trainer()
    four = two_rank_cpu_job(suite.snapshot, world_size=4)
    # A trainer of two CPU ranks, not on Kubernetes, can never run four.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=four))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "world_size 4 exceeds the 2 CPU threads" in refused.value.details()

    cluster = await on_kubernetes(suite, tmp_path / "cluster")
    stub = suite.trainer()
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=four))
    assert job.scheduling.world_size == 4
    pytorch_job = await cluster.wait_for("PyTorchJob", resource_name(job.name, 1))
    replicas = pytorch_job["spec"]["pytorchReplicaSpecs"]
    assert {role: r["replicas"] for role, r in replicas.items()} == {"Master": 1, "Worker": 1}  # two pods
    assert pytorch_job["spec"]["nprocPerNode"] == "2"
    running = await wait_state(stub, job.name, {State.STATE_RUNNING}, limit_s=30)
    assert len(running.devices) == 4

    # Pods are whole, and the cluster has its limit.
    for world_size, says in ((3, "multiple of 2"), (65, "at most 64")):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
                training_job=two_rank_cpu_job(suite.snapshot, world_size=world_size)))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details().startswith("training_job.scheduling.world_size") and says in \
            refused.value.details()
