"""Distributed (``world_size`` > 1) training through the real service: two gloo ranks on the CPU under torchrun.

The trainer under test has one CPU device with two torch threads, so a two-rank job runs both ranks on it
with one thread each (the scheduler's rule for CPU ranks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from pathlib import Path

import grpc
import pytest

from lathe.registry.v1 import registry_service_pb2 as rpb
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2
from tests.trainer.integration.conftest import State, tiny_job, wait_for_event, wait_state

FINAL = {State.STATE_SUCCEEDED, State.STATE_FAILED, State.STATE_CANCELLED}
STEPS = 60

# Two ranks each draw the same global batch and train on their half; DDP averages the two half-batch
# gradients, which is the full-batch gradient. So the two-process run takes the same optimizer steps as the
# one-process run, differing only by float32 summation order (a gradient summed as two halves, a loss mean
# over 8 windows instead of 16). Measured here: the validation losses agree to 6 decimals and the per-step
# training losses within 1e-6. The tolerance (2e-3) leaves room for other CPUs' kernels, while a sharding
# mistake changes the losses by far more (both ranks training on rank 0's half: 0.15 in training loss).
VAL_LOSS_TOLERANCE = 2e-3


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Training jobs run on PostgreSQL only (each costs seconds of CPU)."""
    return postgres_url


def ranked(job: training_job_pb2.TrainingJob, world_size: int, **scheduling) -> training_job_pb2.TrainingJob:
    job.scheduling.world_size = world_size
    for key, value in scheduling.items():
        setattr(job.scheduling, key, value)
    return job


def markers(suite, job_name: str, attempt: int) -> dict[int, dict]:
    """The per-rank marker files (pid, rank, steps trained) of one attempt of the job."""
    work = Path(suite.trainer_server.scheduler.home) / "trainer" / "work" / job_name.split("/")[1]
    found = {}
    for path in work.glob(f"attempt-{attempt}.rank-*.json"):
        with contextlib.suppress(ValueError, OSError):
            record = json.loads(path.read_text())
            found[record["rank"]] = record
    return found


async def wait_markers(suite, job_name: str, attempt: int, world_size: int, limit_s: float = 60) -> dict[int, dict]:
    deadline = time.monotonic() + limit_s
    while True:
        found = markers(suite, job_name, attempt)
        if len(found) == world_size:
            return found
        assert time.monotonic() < deadline, f"ranks of attempt {attempt} did not start: {found}"
        await asyncio.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie not yet reaped by its parent is dead too
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


async def events_of(stub, name: str) -> list:
    return list((await stub.ListTrainingEvents(tpb.ListTrainingEventsRequest(parent=name, page_size=1000))).events)


async def test_two_rank_job_trains_on_both_ranks_writes_once_and_matches_one_process(suite) -> None:
    stub = suite.trainer()
    single = tiny_job(suite.snapshot, steps=STEPS, checkpoint_every=20, width=48)
    single.model = "models/ddp-reference"
    double = ranked(tiny_job(suite.snapshot, steps=STEPS, checkpoint_every=20, width=48), 2)
    double.model = "models/ddp-two-ranks"
    one = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=single))
    two = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=double))
    assert two.scheduling.world_size == 2
    done_two = await wait_state(stub, two.name, FINAL, limit_s=120)
    assert done_two.state == State.STATE_SUCCEEDED, done_two.error
    done_one = await wait_state(stub, one.name, FINAL, limit_s=120)
    assert done_one.state == State.STATE_SUCCEEDED, done_one.error

    # Both ranks trained every step, as two distinct processes on the CPU device.
    ranks = markers(suite, two.name, 1)
    assert sorted(ranks) == [0, 1]
    assert all(r["trained_steps"] == STEPS and r["world_size"] == 2 for r in ranks.values())
    assert ranks[0]["pid"] != ranks[1]["pid"]
    assert list(done_two.devices) == ["cpu", "cpu"]

    # Rank 0 alone wrote: each step reported once, one set of checkpoints, one success, one model folder.
    events = await events_of(stub, two.name)
    kinds = [e.WhichOneof("payload") for e in events]
    started = [e.job_started for e in events if e.WhichOneof("payload") == "job_started"]
    assert len(started) == 2 and {s.world_size for s in started} == {2}  # the launcher's, then rank 0's
    assert started[0].worker_pid == started[1].worker_pid  # both name the torchrun launcher
    assert [e.step_metrics.step for e in events if e.WhichOneof("payload") == "step_metrics"] == \
        list(range(1, STEPS + 1))
    one_events = await events_of(stub, one.name)

    def saved(log: list) -> list[tuple[int, bool]]:
        return [(e.checkpoint_saved.checkpoint.step, e.checkpoint_saved.checkpoint.is_best) for e in log
                if e.WhichOneof("payload") == "checkpoint_saved"]

    # Every interval once (the last one again as best when the final evaluation is the best), as one process.
    assert [step for step, _ in saved(events)][:3] == [20, 40, 60]
    assert len(set(saved(events))) == len(saved(events)) and saved(events) == saved(one_events)
    assert kinds.count("job_succeeded") == 1
    assert sum(1 for e in events if e.WhichOneof("payload") == "evaluation" and e.evaluation.is_final) == 1

    # Registered once.
    for _ in range(100):
        registered = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=two.name))
        if registered.model_version:
            break
        await asyncio.sleep(0.2)
    assert registered.model_version.startswith("models/ddp-two-ranks/versions/")
    versions = await suite.registry().ListModelVersions(rpb.ListModelVersionsRequest(parent="models/ddp-two-ranks"))
    assert [v.name for v in versions.model_versions] == [registered.model_version]

    # The same optimization as one process with the same global batch and seed.
    one_losses = [e.step_metrics.loss for e in one_events if e.WhichOneof("payload") == "step_metrics"]
    two_losses = [e.step_metrics.loss for e in events if e.WhichOneof("payload") == "step_metrics"]
    assert max(abs(a - b) for a, b in zip(one_losses, two_losses, strict=True)) < VAL_LOSS_TOLERANCE
    val_one, val_two = done_one.latest_metrics["validation/loss"], done_two.latest_metrics["validation/loss"]
    print(f"validation/loss one process {val_one:.6f}, two ranks {val_two:.6f}, "
          f"largest train-loss gap {max(abs(a - b) for a, b in zip(one_losses, two_losses, strict=True)):.2e}")
    assert abs(val_one - val_two) < VAL_LOSS_TOLERANCE, (val_one, val_two)
    assert val_two < done_two.baseline_metrics["validation/loss"] + 1.0  # it trained, not diverged


async def test_killed_rank_restarts_the_job_then_fails_it_when_restarts_run_out(suite) -> None:
    stub = suite.trainer()
    spec = ranked(tiny_job(suite.snapshot, steps=2000, checkpoint_every=10, width=32, batch=8), 2, max_restarts=1)
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=spec))
    await wait_for_event(stub, job.name, "checkpoint_saved", limit_s=90)
    first = await wait_markers(suite, job.name, 1, 2)
    killed_at = time.monotonic()
    os.kill(first[1]["pid"], signal.SIGKILL)  # rank 1 dies: torchrun stops rank 0 and exits non-zero

    restarted = await wait_for_event(stub, job.name, "worker_restarted", limit_s=60)
    assert time.monotonic() - killed_at < 45, "the launcher took too long to notice the dead rank"
    assert restarted.worker_restarted.resume_from_step >= 10
    assert restarted.worker_restarted.restarts_remaining == 0
    await asyncio.sleep(0.5)
    assert not alive(first[0]["pid"]), "rank 0 of the failed attempt outlived its launcher"

    # The second attempt resumes from the checkpoint on both ranks; then rank 0 is killed: no restart left.
    second = await wait_markers(suite, job.name, 2, 2)
    assert {r["step"] for r in second.values()} == {restarted.worker_restarted.resume_from_step}
    await wait_for_event(stub, job.name, "step_metrics",
                         lambda e: e.step_metrics.step > restarted.worker_restarted.resume_from_step + 2)
    killed_at = time.monotonic()
    os.kill(second[0]["pid"], signal.SIGKILL)
    failed = await wait_state(stub, job.name, FINAL, limit_s=60)
    assert time.monotonic() - killed_at < 45
    assert failed.state == State.STATE_FAILED
    assert "rank 0 was killed by signal 9" in failed.error.message, failed.error.message
    assert failed.restart_count == 1
    await asyncio.sleep(0.5)
    assert not alive(second[1]["pid"]), "rank 1 outlived the failed job"
    assert suite.trainer_server.scheduler.worker_pid(job.name.split("/")[1]) is None


async def test_cancelling_a_two_rank_job_stops_both_ranks_at_the_same_step(suite) -> None:
    stub = suite.trainer()
    spec = ranked(tiny_job(suite.snapshot, steps=2000, checkpoint_every=1000, width=32, batch=8), 2)
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=spec))
    await wait_for_event(stub, job.name, "step_metrics", lambda e: e.step_metrics.step >= 3)
    ranks = await wait_markers(suite, job.name, 1, 2)
    started = time.monotonic()
    await stub.CancelTrainingJob(tpb.CancelTrainingJobRequest(name=job.name))
    done = await wait_state(stub, job.name, FINAL, limit_s=30)
    # Stopped cooperatively (well within the 3 s kill grace), not killed: both ranks agreed on the step.
    assert done.state == State.STATE_CANCELLED and time.monotonic() - started < 3
    stopped = markers(suite, job.name, 1)
    assert all(r.get("stopped") for r in stopped.values()), stopped
    assert stopped[0]["step"] == stopped[1]["step"] >= 3
    await asyncio.sleep(0.5)
    assert not any(alive(r["pid"]) for r in ranks.values())


async def test_world_size_is_validated_against_the_recipe_and_the_devices(suite) -> None:
    stub = suite.trainer()
    ngram = training_job_pb2.TrainingJob(
        recipe=cfg.RECIPE_NGRAM_LM, data_source=cfg.DataSource(snapshot=suite.snapshot),
        scheduling=cfg.SchedulingOptions(world_size=2))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=ngram))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "training_job.scheduling.world_size" in caught.value.details()
    # The trainer's CPU device has two threads: at most two CPU ranks.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=ranked(tiny_job(suite.snapshot), 4)))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # A pinned device is for one process only; an odd split of the global batch is refused.
    pinned = ranked(tiny_job(suite.snapshot), 2)
    pinned.scheduling.device_request.device = "cpu"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=pinned))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "training_job.scheduling.device_request.device" in caught.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=ranked(
            tiny_job(suite.snapshot, batch=6, gradient_accumulation_steps=2), 2)))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "training_job.options.batch_size" in caught.value.details()
