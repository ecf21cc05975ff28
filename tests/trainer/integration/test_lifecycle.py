"""Job lifecycle through the real service: watch and resume, cancel, worker kill -9, service restart, queueing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

import grpc
import pytest

from lathe.kit.clients import create_channel
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub
from tests.trainer.integration.conftest import State, tiny_job, wait_for_event, wait_state

FINAL = {State.STATE_SUCCEEDED, State.STATE_FAILED, State.STATE_CANCELLED}


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Training jobs run on PostgreSQL only (each costs seconds of CPU); the cheap tests run on both."""
    return postgres_url


async def test_watcher_reconnects_with_its_token_and_misses_nothing(suite) -> None:
    stub = suite.trainer()
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=tiny_job(suite.snapshot, steps=80)))
    received: list[int] = []
    token = ""
    # First connection, on its own channel: read a few events, then drop the connection mid-job.
    channel = create_channel(suite.trainer_server.address, token=suite.tokens.alice)
    first = TrainerServiceStub(channel)
    with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
        async for response in first.WatchTrainingEvents(tpb.WatchTrainingEventsRequest(parent=job.name)):
            if response.WhichOneof("kind") == "event":
                received.append(response.event.sequence)
                token = response.resume_token
                if response.event.WhichOneof("payload") == "step_metrics" and \
                        response.event.step_metrics.step >= 10:
                    await channel.close()
    await asyncio.sleep(1.0)  # events keep coming while disconnected
    async for response in stub.WatchTrainingEvents(tpb.WatchTrainingEventsRequest(parent=job.name,
                                                                                 resume_token=token)):
        if response.WhichOneof("kind") == "event":
            received.append(response.event.sequence)
    done = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=job.name))
    assert done.state == State.STATE_SUCCEEDED
    deduplicated = sorted(set(received))
    assert received == deduplicated, "events arrived out of order or twice"
    assert deduplicated == list(range(1, deduplicated[-1] + 1))
    logged = (await stub.ListTrainingEvents(tpb.ListTrainingEventsRequest(parent=job.name, page_size=1000))).events
    terminal = next(e.sequence for e in logged if e.WhichOneof("payload") == "job_succeeded")
    assert deduplicated[-1] == terminal
    # Paging the log gives the same events, a page at a time.
    paged, token = [], ""
    while True:
        page = await stub.ListTrainingEvents(tpb.ListTrainingEventsRequest(parent=job.name, page_size=7,
                                                                           page_token=token))
        paged += [e.sequence for e in page.events]
        token = page.next_page_token
        if not token:
            break
    # The log may have grown meanwhile (the registration event follows success), never changed.
    assert paged[:len(logged)] == [e.sequence for e in logged]
    # Bob cannot see Alice's job; the admin can.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await suite.trainer(suite.tokens.bob).GetTrainingJob(tpb.GetTrainingJobRequest(name=job.name))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await suite.trainer(suite.tokens.admin).GetTrainingJob(tpb.GetTrainingJobRequest(name=job.name))).name


async def test_cancel_stops_a_running_job_within_seconds(suite) -> None:
    stub = suite.trainer()
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=tiny_job(suite.snapshot, steps=5000)))
    await wait_for_event(stub, job.name, "step_metrics", lambda e: e.step_metrics.step >= 3)
    started = asyncio.get_running_loop().time()
    cancelling = await stub.CancelTrainingJob(tpb.CancelTrainingJobRequest(name=job.name))
    assert cancelling.state in (State.STATE_CANCELLING, State.STATE_CANCELLED)
    done = await wait_state(stub, job.name, FINAL, limit_s=20)
    assert done.state == State.STATE_CANCELLED
    assert asyncio.get_running_loop().time() - started < 8
    assert done.step < 5000 and not done.model_version
    # Cancelling again returns it unchanged; a succeeded job cannot be cancelled.
    again = await stub.CancelTrainingJob(tpb.CancelTrainingJobRequest(name=job.name))
    assert again.state == State.STATE_CANCELLED


async def test_worker_killed_with_sigkill_resumes_from_its_last_checkpoint(suite) -> None:
    stub = suite.trainer()
    spec = tiny_job(suite.snapshot, steps=100, checkpoint_every=20)
    spec.scheduling.max_restarts = 1
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=spec))
    saved = await wait_for_event(stub, job.name, "checkpoint_saved",
                                 lambda e: e.checkpoint_saved.checkpoint.step >= 40)
    pid = suite.trainer_server.scheduler.worker_pid(job.name.split("/")[1])
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    done = await wait_state(stub, job.name, FINAL)
    assert done.state == State.STATE_SUCCEEDED, done.error
    assert done.restart_count == 1 and done.step == 100
    events = (await stub.ListTrainingEvents(tpb.ListTrainingEventsRequest(parent=job.name, page_size=1000))).events
    (restart,) = [e.worker_restarted for e in events if e.WhichOneof("payload") == "worker_restarted"]
    assert restart.exit_code == -9 and restart.resume_from_step >= saved.checkpoint_saved.checkpoint.step
    resumed = [e for e in events if e.WhichOneof("payload") == "job_started"][-1]
    assert resumed.attempt == 2 and resumed.job_started.resumed_from_step == restart.resume_from_step
    # The second attempt's first step is the one after the checkpoint: nothing re-done before it, none skipped.
    second = [e.step_metrics.step for e in events if e.WhichOneof("payload") == "step_metrics" and e.attempt == 2]
    assert second[0] == restart.resume_from_step + 1 and second[-1] == 100


async def test_service_restart_mid_job_resumes_at_the_checkpoint_step(suite) -> None:
    stub = suite.trainer()
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=tiny_job(suite.snapshot, steps=100, checkpoint_every=20)))
    saved = await wait_for_event(stub, job.name, "checkpoint_saved",
                                 lambda e: e.checkpoint_saved.checkpoint.step >= 40)
    await suite.restart_trainer()
    stub = suite.trainer()
    done = await wait_state(stub, job.name, FINAL)
    assert done.state == State.STATE_SUCCEEDED, done.error
    assert done.restart_count == 0 and done.step == 100
    events = (await stub.ListTrainingEvents(tpb.ListTrainingEventsRequest(parent=job.name, page_size=1000))).events
    (restart,) = [e.worker_restarted for e in events if e.WhichOneof("payload") == "worker_restarted"]
    assert restart.reason == restart.REASON_SERVICE_RESTARTED
    assert restart.resume_from_step >= saved.checkpoint_saved.checkpoint.step
    second = [e.step_metrics.step for e in events if e.WhichOneof("payload") == "step_metrics" and e.attempt == 2]
    assert second[0] == restart.resume_from_step + 1
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))


async def test_second_job_queues_while_the_only_device_is_busy(suite) -> None:
    stub = suite.trainer()
    first = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=tiny_job(suite.snapshot, steps=40)))
    await wait_state(stub, first.name, {State.STATE_RUNNING} | FINAL)
    second = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=tiny_job(suite.snapshot, steps=20)))
    await asyncio.sleep(1.0)
    waiting = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=second.name))
    running = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=first.name))
    if running.state == State.STATE_RUNNING:
        assert waiting.state == State.STATE_QUEUED
    first_done = await wait_state(stub, first.name, FINAL)
    second_done = await wait_state(stub, second.name, FINAL)
    assert first_done.state == second_done.state == State.STATE_SUCCEEDED
    assert second_done.start_time.ToDatetime() >= first_done.end_time.ToDatetime()
    listed = await stub.ListTrainingJobs(tpb.ListTrainingJobsRequest(filter="state = SUCCEEDED"))
    assert {j.name for j in listed.training_jobs} >= {first.name, second.name}
