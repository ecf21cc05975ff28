"""A causal-lm job end to end: queued → running → succeeded, better than its first evaluation and the
n-gram baseline, registered in the registry and recorded in history through the outbox."""

from __future__ import annotations

import asyncio

import pytest

from lathe.history.v1 import history_service_pb2 as hpb
from lathe.registry.v1 import registry_service_pb2 as rpb
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2
from tests.trainer.integration.conftest import State, tiny_job, wait_state

TrainingJob = training_job_pb2.TrainingJob
STEPS = 240


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Training jobs run on PostgreSQL only (each costs seconds of CPU); the cheap tests run on both."""
    return postgres_url


async def test_causal_lm_job_succeeds_beats_baseline_and_is_registered(suite) -> None:
    stub = suite.trainer()
    BIG = tiny_job(suite.snapshot, steps=STEPS, width=128, batch=32, checkpoint_every=100)
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=BIG, training_job_id="tiny-gpt", request_id="req-1"))
    assert job.state == State.STATE_QUEUED and job.name == "trainingJobs/tiny-gpt" and job.owner == "alice"
    done = await wait_state(stub, job.name, {State.STATE_SUCCEEDED, State.STATE_FAILED})
    assert done.state == State.STATE_SUCCEEDED, done.error
    events = (await stub.ListTrainingEvents(tpb.ListTrainingEventsRequest(parent=job.name, page_size=1000))).events
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "job_queued" and kinds[1] == "job_started" and "job_succeeded" in kinds
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert [e.job_state for e in events][:2] == [State.STATE_QUEUED, State.STATE_RUNNING]
    evaluations = [e.evaluation for e in events if e.WhichOneof("payload") == "evaluation"]
    first, final = evaluations[0], evaluations[-1]
    assert final.is_final and final.metrics["loss"] < first.metrics["loss"]
    baseline = done.baseline_metrics["validation/loss"]
    assert done.latest_metrics["validation/loss"] < baseline
    assert done.step == STEPS and done.progress_fraction == 1.0 and done.tokens_processed == STEPS * 32 * 64
    assert done.checkpoints and len(done.checkpoints) <= 3

    # The same split through the ngram-lm recipe gives the same baseline cross-entropy.
    ngram = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=TrainingJob(
        recipe=cfg.RECIPE_NGRAM_LM, ngram_lm=cfg.NgramLmConfig(order=2),
        data_source=cfg.DataSource(snapshot=suite.snapshot))))
    ngram_done = await wait_state(stub, ngram.name, {State.STATE_SUCCEEDED, State.STATE_FAILED})
    assert ngram_done.state == State.STATE_SUCCEEDED, ngram_done.error
    assert abs(ngram_done.latest_metrics["validation/loss"] - baseline) < 1e-6
    assert done.latest_metrics["validation/loss"] < ngram_done.latest_metrics["validation/loss"]

    # A retry with the same request id returns the first job.
    again = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=BIG, training_job_id="tiny-gpt", request_id="req-1"))
    assert again.name == job.name and again.create_time == job.create_time

    # The version lands in the registry and the session in history (through the outbox).
    for _ in range(100):
        registered = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=job.name))
        if registered.model_version:
            break
        await asyncio.sleep(0.2)
    assert registered.model_version.startswith("models/causal-lm/versions/")
    version = await suite.registry().GetModelVersion(rpb.GetModelVersionRequest(name=registered.model_version))
    assert version.lineage.training_job == job.name and version.lineage.snapshot == suite.snapshot
    assert version.recipe == "causal-lm" and version.artifact_uri == done.artifact_uri
    assert {m.key for m in version.metrics} >= {"validation/loss", "baseline/validation/loss"}
    for _ in range(100):
        sessions = await suite.history().ListSessions(hpb.ListSessionsRequest())
        if any(s.training_job == job.name for s in sessions.sessions):
            break
        await asyncio.sleep(0.2)
    (session,) = [s for s in sessions.sessions if s.training_job == job.name]
    assert session.model_version == registered.model_version and session.owner == "alice"
