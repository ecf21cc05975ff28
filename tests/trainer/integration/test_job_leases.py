"""Trainer replicas on one database: every job is started by exactly one of them (its lease), a job whose trainer
dies is taken over by another and finishes, and a trainer that restarts leaves a live replica's job alone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from lathe.kit.clients import create_channel
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub
from tests.trainer.integration.conftest import State, tiny_job, wait_for_event, wait_state

FINAL = {State.STATE_SUCCEEDED, State.STATE_FAILED, State.STATE_CANCELLED}
LEASE = 1.5  # seconds: renewed every 0.5 s, and a dead trainer's jobs are taken over within about 3 s
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Training runs on PostgreSQL only, as in the other training tests."""
    return postgres_url


@pytest.fixture
async def replica(suite, start_service, tmp_path):
    """Settings of trainer replica ``name`` (its own home and CPU device, the suite's schema, one artifact store),
    and a starter for it; the suite's own trainer is stopped so that only the replicas take jobs."""
    await suite.trainer_server.stop(0)

    def settings(name: str) -> dict[str, Any]:
        # One torch thread each: two replicas' workers share the machine's two cores.
        return {**suite.trainer_overrides, "trainer_instance": name, "home": tmp_path / name,
                "artifact_root": str(tmp_path / "artifacts"), "trainer_lease_seconds": LEASE,
                "trainer_cpu_threads": 1}

    async def start(name: str):
        return await start_service("trainer", **settings(name))

    start.settings = settings  # type: ignore[attr-defined]
    return start


def stub_of(suite, server) -> TrainerServiceStub:
    return TrainerServiceStub(suite.channel_to(server, suite.tokens.alice))


def attempts_in(home: Path, job_id: str) -> list[str]:
    """The attempt specs a trainer wrote for the job (one per launch it made)."""
    return sorted(p.name for p in (home / "trainer" / "work" / job_id).glob("attempt-*.json")
                  if re.fullmatch(r"attempt-\d+\.json", p.name))


async def events_of(stub: TrainerServiceStub, name: str) -> list:
    return list((await stub.ListTrainingEvents(tpb.ListTrainingEventsRequest(parent=name, page_size=1000))).events)


async def watched_kinds(stub: TrainerServiceStub, name: str) -> list[str]:
    """The payload kinds a live watch of the job sees, until the job ends."""
    kinds = []
    async for response in stub.WatchTrainingEvents(tpb.WatchTrainingEventsRequest(parent=name)):
        if response.HasField("event"):
            kinds.append(response.event.WhichOneof("payload"))
    return kinds


def started(events: list) -> dict[int, set[int]]:
    """attempt -> the worker processes its ``job_started`` events name (the trainer logs one at the launch and
    the worker another as it begins: one process per attempt when exactly one trainer launched it)."""
    out: dict[int, set[int]] = {}
    for e in events:
        if e.WhichOneof("payload") == "job_started":
            out.setdefault(e.attempt, set()).add(e.job_started.worker_pid)
    return out


@contextlib.asynccontextmanager
async def trainer_process(settings: dict[str, Any], database_url: str, tokens_file: Path,
                          log: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """A trainer in its own process (and process group, with its workers), as on a node of its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **{f"LATHE_{key.upper()}": str(value) for key, value in settings.items()},
           "LATHE_PORT": str(port), "LATHE_DATABASE_URL": database_url, "LATHE_TOKENS_FILE": str(tokens_file),
           "LATHE_LOG_FORMAT": "json"}
    with open(log, "wb") as sink:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "services.trainer", cwd=str(REPO),
                                                       env=env, stdout=sink, stderr=sink, start_new_session=True)
    try:
        yield process, f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def serving(stub: TrainerServiceStub, process: asyncio.subprocess.Process, log: Path) -> None:
    """Wait until the trainer answers."""
    for _ in range(150):
        assert process.returncode is None, log.read_text()[-3000:]
        with contextlib.suppress(grpc.aio.AioRpcError):
            await stub.ListTrainingJobs(tpb.ListTrainingJobsRequest(), timeout=1)
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the trainer did not start: {log.read_text()[-3000:]}")


async def test_two_trainers_start_each_queued_job_exactly_once(suite, replica, tmp_path) -> None:
    a = await replica("a")
    stub = stub_of(suite, a)
    jobs = [await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=tiny_job(suite.snapshot, steps=20, checkpoint_every=10))) for _ in range(4)]
    b = await replica("b")  # its first look at the queue races trainer a's for the jobs not yet started
    # Every job watched live through both replicas: the one not running it reads the log it shares.
    watches = [asyncio.create_task(watched_kinds(stub_of(suite, server), job.name))
               for job in jobs for server in (a, b)]
    for job in jobs:
        done = await wait_state(stub, job.name, FINAL, limit_s=90)
        assert done.state == State.STATE_SUCCEEDED, done.error
        assert done.restart_count == 0
        events = await events_of(stub, job.name)
        attempts = started(events)
        assert list(attempts) == [1] and len(attempts[1]) == 1, f"{job.name} was started more than once: {attempts}"
        assert not [e for e in events if e.WhichOneof("payload") == "worker_restarted"]
        # Exactly one trainer launched a worker for it (a loser of the race launches nothing, logs nothing).
        job_id = job.name.split("/")[1]
        launches = {name: attempts_in(tmp_path / name, job_id) for name in ("a", "b")}
        assert sorted(launches.values()) == [[], ["attempt-1.json"]], launches
    for kinds in await asyncio.wait_for(asyncio.gather(*watches), timeout=60):
        assert kinds[-1] == "job_succeeded" and "step_metrics" in kinds, kinds


async def test_a_dead_trainers_job_is_taken_over_from_its_checkpoint(suite, replica, tmp_path, postgres_url) -> None:
    # Trainer a runs in its own process group, so it can die like a node: trainer and worker killed at once.
    log = tmp_path / "a.log"
    async with trainer_process(replica.settings("a"), postgres_url, suite.tokens.file, log) as (process, address):
        channel = create_channel(address, token=suite.tokens.alice, default_timeout=20)
        try:
            on_a = TrainerServiceStub(channel)
            await serving(on_a, process, log)
            job = await on_a.CreateTrainingJob(tpb.CreateTrainingJobRequest(
                training_job=tiny_job(suite.snapshot, steps=400, checkpoint_every=40)))
            saved = await wait_for_event(on_a, job.name, "checkpoint_saved",
                                         lambda e: e.checkpoint_saved.checkpoint.step >= 40)
            b = await replica("b")
            await asyncio.sleep(LEASE * 2)  # a renews its lease: b leaves the job alone
            assert b.scheduler.worker_pid(job.name.split("/")[1]) is None
            os.killpg(process.pid, signal.SIGKILL)
        finally:
            await channel.close()
    stub = stub_of(suite, b)
    done = await wait_state(stub, job.name, FINAL, limit_s=60)
    assert done.state == State.STATE_SUCCEEDED, done.error
    assert done.step == 400 and done.restart_count == 0  # a trainer's death does not consume a restart
    events = await events_of(stub, job.name)
    attempts = started(events)
    assert list(attempts) == [1, 2] and all(len(pids) == 1 for pids in attempts.values()), attempts
    (restart,) = [e.worker_restarted for e in events if e.WhichOneof("payload") == "worker_restarted"]
    assert restart.reason == restart.REASON_SERVICE_RESTARTED
    assert restart.resume_from_step >= saved.checkpoint_saved.checkpoint.step
    second = [e.step_metrics.step for e in events if e.WhichOneof("payload") == "step_metrics" and e.attempt == 2]
    assert second[0] == restart.resume_from_step + 1 and second[-1] == 400
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    job_id = job.name.split("/")[1]
    assert attempts_in(tmp_path / "a", job_id) == ["attempt-1.json"]
    assert attempts_in(tmp_path / "b", job_id) == ["attempt-2.json"]


async def test_a_restarted_trainer_leaves_a_live_trainers_job_alone(suite, replica, tmp_path) -> None:
    a = await replica("a")
    stub = stub_of(suite, a)
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=tiny_job(suite.snapshot, steps=400, checkpoint_every=20)))
    job_id = job.name.split("/")[1]
    await wait_for_event(stub, job.name, "step_metrics")
    b = await replica("b")
    await b.stop(0)
    b = await replica("b")  # restarted: it recovers its own jobs and expired ones, not a's
    await asyncio.sleep(LEASE * 2.5)  # past a takeover scan of b's
    assert b.scheduler.worker_pid(job_id) is None and a.scheduler.worker_pid(job_id) is not None
    on_b = stub_of(suite, b)
    running = await on_b.GetTrainingJob(tpb.GetTrainingJobRequest(name=job.name))
    assert running.state == State.STATE_RUNNING
    assert [len(pids) for pids in started(await events_of(on_b, job.name)).values()] == [1]
    # A cancel that reaches b stops a's worker: a sees it when it next renews the lease.
    cancelled = await on_b.CancelTrainingJob(tpb.CancelTrainingJobRequest(name=job.name))
    assert cancelled.state == State.STATE_CANCELLING
    done = await wait_state(on_b, job.name, FINAL, limit_s=30)
    assert done.state == State.STATE_CANCELLED and 0 < done.step < 400
    for _ in range(50):
        if a.scheduler.worker_pid(job_id) is None:
            break
        await asyncio.sleep(0.1)
    assert a.scheduler.worker_pid(job_id) is None
    assert attempts_in(tmp_path / "b", job_id) == []
