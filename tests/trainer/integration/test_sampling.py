"""GenerateSamples: text from a causal-lm job's latest or best checkpoint, or from its registered version."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from lathe.kit.errors import from_rpc_error
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from tests.trainer.integration.conftest import State, tiny_job, wait_state

STEPS = 40


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Training jobs run on PostgreSQL only (each costs seconds of CPU); the cheap tests run on both."""
    return postgres_url


async def _error(call) -> tuple[grpc.StatusCode, set[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    error = from_rpc_error(info.value)
    fields = {v.field for v in error.field_violations} | ({error.metadata["field"]} if "field" in error.metadata
                                                         else set())
    return info.value.code(), fields


async def test_generate_samples_from_checkpoints_and_the_registered_version(suite) -> None:
    stub = suite.trainer()
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=tiny_job(suite.snapshot, steps=STEPS, checkpoint_every=20, width=32, batch=8),
        training_job_id="sampler"))
    queued = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=tiny_job(suite.snapshot, steps=STEPS), training_job_id="waiting"))
    # A job without a checkpoint yet cannot be sampled.
    code, _ = await _error(stub.GenerateSamples(tpb.GenerateSamplesRequest(name=queued.name)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    await stub.CancelTrainingJob(tpb.CancelTrainingJobRequest(name=queued.name))
    done = await wait_state(stub, job.name, {State.STATE_SUCCEEDED, State.STATE_FAILED})
    assert done.state == State.STATE_SUCCEEDED, done.error

    latest = await stub.GenerateSamples(tpb.GenerateSamplesRequest(
        name=job.name, prompt="ROMEO:", max_new_tokens=40, sample_count=3, seed=5))
    assert latest.checkpoint == f"{job.name}/checkpoints/step-{STEPS:09d}" and latest.step == STEPS
    assert latest.seed == 5 and len(latest.samples) == 3
    assert all(0 < len(s) <= 40 for s in latest.samples) and len(set(latest.samples)) > 1
    # The same seed gives the same samples; greedy decoding gives identical ones; an unset seed is drawn.
    again = await stub.GenerateSamples(tpb.GenerateSamplesRequest(
        name=job.name, prompt="ROMEO:", max_new_tokens=40, sample_count=3, seed=5))
    assert list(again.samples) == list(latest.samples)
    greedy = await stub.GenerateSamples(tpb.GenerateSamplesRequest(
        name=job.name, checkpoint=f"{job.name}/checkpoints/latest", temperature=0.0, sample_count=2,
        max_new_tokens=20))
    assert greedy.samples[0] == greedy.samples[1] and greedy.seed > 0

    best = await stub.GenerateSamples(tpb.GenerateSamplesRequest(
        name=job.name, checkpoint=f"{job.name}/checkpoints/best", max_new_tokens=10, seed=1))
    best_steps = [c.step for c in (await stub.ListCheckpoints(tpb.ListCheckpointsRequest(
        parent=job.name, filter="is_best = true"))).checkpoints]
    assert best.step in best_steps
    code, fields = await _error(stub.GenerateSamples(tpb.GenerateSamplesRequest(
        name=job.name, checkpoint=f"{job.name}/checkpoints/step-000000007")))
    assert code == grpc.StatusCode.NOT_FOUND and fields == {"checkpoint"}

    # The registered version holds the final weights: the same seed samples the same text as the last checkpoint.
    for _ in range(100):
        registered = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=job.name))
        if registered.model_version:
            break
        await asyncio.sleep(0.2)
    from_version = await stub.GenerateSamples(tpb.GenerateSamplesRequest(
        model_version=registered.model_version, prompt="ROMEO:", max_new_tokens=40, sample_count=3, seed=5))
    assert from_version.model_version == registered.model_version and not from_version.checkpoint
    assert list(from_version.samples) == list(latest.samples) and from_version.step == STEPS

    # Bad parameters are INVALID_ARGUMENT naming every bad field; others' jobs are not revealed.
    code, fields = await _error(stub.GenerateSamples(tpb.GenerateSamplesRequest(
        name=job.name, max_new_tokens=5000, temperature=-1.0, sample_count=9, top_k=-3)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert fields == {"max_new_tokens", "temperature", "sample_count", "top_k"}
    code, fields = await _error(stub.GenerateSamples(tpb.GenerateSamplesRequest(name=job.name, prompt="x" * 5000)))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"prompt"})
    code, fields = await _error(stub.GenerateSamples(tpb.GenerateSamplesRequest()))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"name"})
    code, fields = await _error(stub.GenerateSamples(tpb.GenerateSamplesRequest(
        model_version=registered.model_version, checkpoint=f"{job.name}/checkpoints/best")))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"checkpoint"})
    code, fields = await _error(stub.GenerateSamples(tpb.GenerateSamplesRequest(
        model_version="models/causal-lm/versions/999")))
    assert (code, fields) == (grpc.StatusCode.NOT_FOUND, {"model_version"})
    code, _ = await _error(suite.trainer(suite.tokens.bob).GenerateSamples(tpb.GenerateSamplesRequest(
        name=job.name)))
    assert code == grpc.StatusCode.NOT_FOUND
