"""The Q-A recipes end to end on StackFAQ (imported through the corpus service), on PostgreSQL.

embedding-finetune beats the un-tuned model on held-out questions in the same run, resumes after kill -9 to
the same metrics as an uninterrupted run, and ``Evaluate`` reproduces a version's recorded metrics;
projection-heads trains in seconds and reports its baseline; bad Q-A configurations fail at creation.
To stay within CI time the snapshot is the 36 StackFAQ threads whose id starts with ``stackfaq:1`` and the
fine-tune is 24 steps of 16 pairs at 48 word pieces.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
import uuid
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from lathe.corpus.v1 import corpus_service_pb2 as cpb
from lathe.corpus.v1 import snapshot_pb2
from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub
from lathe.history.v1 import history_service_pb2 as hpb
from lathe.kit.datasets import datasets_dir
from lathe.registry.v1 import registry_service_pb2 as rpb
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from tests.trainer.integration.conftest import DONE, State, Suite, TrainingJob, wait_state

STACKFAQ = datasets_dir() / "stackfaq.json"
SUBSET = 'external_id = "stackfaq:1*"'
FINISHED = {State.STATE_SUCCEEDED, State.STATE_FAILED, State.STATE_CANCELLED}


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """These tests run on PostgreSQL only (training is the slow part, not the database)."""
    return postgres_url


async def _snapshot(corpus: CorpusServiceStub, *, filter: str = SUBSET,
                    embedded: bool = False) -> snapshot_pb2.Snapshot:
    snapshot = await corpus.CreateSnapshot(cpb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot(
        filter=filter, split_config=snapshot_pb2.SplitConfig(qa_strategy=snapshot_pb2.QA_SPLIT_STRATEGY_BY_QUESTION,
                                                            validation_fraction=0.15, seed=3),
        embedding_models=["embeddingModels/all-minilm-l6-v2"] if embedded else [])))
    deadline = time.monotonic() + 150
    while snapshot.state == snapshot_pb2.Snapshot.STATE_CREATING:
        assert time.monotonic() < deadline, "the snapshot's embeddings were not computed in time"
        await asyncio.sleep(0.5)
        snapshot = await corpus.GetSnapshot(cpb.GetSnapshotRequest(name=snapshot.name))
    assert snapshot.state == snapshot_pb2.Snapshot.STATE_READY, snapshot.error
    return snapshot


@pytest.fixture
async def qa(start_service, channel_to, tokens, tmp_path) -> Suite:
    """Corpus with StackFAQ imported, registry, history and a two-thread CPU trainer."""
    imports = tmp_path / "imports"
    imports.mkdir()
    shutil.copy(STACKFAQ, imports / "stackfaq.json")
    corpus_server = await start_service("corpus", import_roots=[imports], corpus_embed_on_import=False,
                                        corpus_import_poll_seconds=0.2)
    registry_server = await start_service("registry")
    history_server = await start_service("history")
    corpus = CorpusServiceStub(channel_to(corpus_server, tokens.alice))
    scan = await corpus.ImportFiles(cpb.ImportFilesRequest(root=str(imports)))
    deadline = time.monotonic() + 60
    while True:
        batches = [await corpus.GetImportBatch(cpb.GetImportBatchRequest(name=n)) for n in scan.import_batches]
        if all(b.state in DONE for b in batches):
            break
        assert time.monotonic() < deadline, "import did not finish"
        await asyncio.sleep(0.1)
    overrides = {"service_token": tokens.service, "corpus_address": corpus_server.address,
                 "registry_address": registry_server.address, "history_address": history_server.address,
                 "database_schema": f"trainer_{uuid.uuid4().hex[:10]}",
                 "trainer_devices": "cpu", "trainer_cpu_threads": 2, "trainer_cancel_grace_seconds": 3.0,
                 "trainer_outbox_poll_seconds": 0.2, "trainer_outbox_max_backoff_seconds": 1.0}
    trainer_server = await start_service("trainer", **overrides)
    return Suite(start_service, channel_to, tokens, corpus_server, registry_server, history_server,
                 trainer_server, "", overrides)


def finetune_job(snapshot: str, **options) -> TrainingJob:
    """A fine-tune that runs in well under a minute on two cores."""
    return TrainingJob(
        recipe=cfg.RECIPE_EMBEDDING_FINETUNE, data_source=cfg.DataSource(snapshot=snapshot),
        embedding_finetune=cfg.EmbeddingFinetuneConfig(max_seq_length=48),
        options=cfg.TrainingOptions(
            seed=11, max_steps=24, batch_size=16, learning_rate=1e-4, warmup_steps=3, eval_interval_steps=1000,
            log_interval_steps=4, checkpoint_policy=cfg.CheckpointPolicy(interval_steps=8, keep_last=1),
            **options),
        scheduling=cfg.SchedulingOptions(max_restarts=1))


async def _version(qa: Suite, job: TrainingJob, limit_s: float = 30):
    trainer = qa.trainer()
    deadline = time.monotonic() + limit_s
    while not job.model_version:
        assert time.monotonic() < deadline, "the version was not registered"
        await asyncio.sleep(0.2)
        job = await trainer.GetTrainingJob(tpb.GetTrainingJobRequest(name=job.name))
    return await qa.registry().GetModelVersion(rpb.GetModelVersionRequest(name=job.model_version))


def _violation(exc: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(exc) if hasattr(exc, "trailing_metadata") else None
    status = status or status_pb2.Status()
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return bad.field_violations[0].field
    return ""


async def test_finetune_beats_the_untuned_model_evaluate_reproduces_it_and_kill_9_resumes_to_the_same_metrics(
        qa: Suite) -> None:
    snapshot = await _snapshot(qa.corpus())
    trainer = qa.trainer()
    started = time.monotonic()
    job = await trainer.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=finetune_job(snapshot.name)))
    job = await wait_state(trainer, job.name, FINISHED, limit_s=240)
    assert job.state == State.STATE_SUCCEEDED, job.error
    elapsed = time.monotonic() - started
    tuned, base = job.latest_metrics["validation/mrr"], job.baseline_metrics["validation/mrr"]
    print(f"fine-tune: tuned MRR {tuned:.4f}, un-tuned {base:.4f}, {elapsed:.0f} s")
    assert tuned > base, f"fine-tuned MRR {tuned:.4f} is not above the un-tuned {base:.4f}"
    for key in ("recall@1", "recall@5", "recall@10", "mrr"):
        assert 0 <= job.baseline_metrics[f"validation/{key}"] <= 1

    # The evaluation events carry the baseline beside the metrics.
    events = await trainer.ListTrainingEvents(tpb.ListTrainingEventsRequest(parent=job.name,
                                                                            filter="type = evaluation"))
    final = [e.evaluation for e in events.events if e.evaluation.is_final][-1]
    assert final.metrics["mrr"] == pytest.approx(tuned)
    assert final.baseline_metrics["mrr"] == pytest.approx(base)

    # The registry version: a loadable sentence-transformers folder, its metrics and the baseline's.
    version = await _version(qa, job)
    metrics = {m.key: m.value for m in version.metrics}
    assert metrics["validation/mrr"] == pytest.approx(tuned)
    assert metrics["baseline/validation/mrr"] == pytest.approx(base)
    assert version.recipe == "embedding-finetune"
    folder = Path(version.artifact_uri.removeprefix("file://"))
    assert (folder / "modules.json").exists() and (folder / "model.safetensors").exists()

    # History records the session with both.
    sessions = await qa.history().ListSessions(hpb.ListSessionsRequest())
    session = next(s for s in sessions.sessions if s.training_job == job.name)
    assert session.metrics["baseline/validation/recall_at_1"] == \
        pytest.approx(job.baseline_metrics["validation/recall@1"])
    assert session.metrics["baseline/validation/mrr"] == pytest.approx(base)

    # Evaluate reproduces the recorded metrics on the same snapshot, and records them on the version.
    result = await trainer.Evaluate(tpb.EvaluateRequest(model_version=version.name, snapshot=snapshot.name,
                                                        request_id=str(uuid.uuid4())), timeout=180)
    for key in ("recall@1", "recall@5", "recall@10", "mrr"):
        assert abs(result.metrics[key] - metrics[f"validation/{key}"]) <= 1e-6, key
        assert abs(result.baseline_metrics[key] - metrics[f"baseline/validation/{key}"]) <= 1e-6, key
    assert result.example_count == snapshot.counts.validation.question_count
    snapshot_id = snapshot.name.split("/")[1]
    deadline = time.monotonic() + 20
    while True:
        recorded = {m.key: m.value for m in (await qa.registry().GetModelVersion(
            rpb.GetModelVersionRequest(name=version.name))).metrics}
        if f"eval/{snapshot_id}/mrr" in recorded:
            break
        assert time.monotonic() < deadline, "the evaluation was not recorded on the version"
        await asyncio.sleep(0.2)
    assert recorded[f"eval/{snapshot_id}/mrr"] == pytest.approx(result.metrics["mrr"], abs=1e-12)
    assert recorded[f"eval/{snapshot_id}/baseline/mrr"] == pytest.approx(base, abs=1e-6)
    assert recorded["validation/mrr"] == pytest.approx(tuned)  # the training metrics are kept

    # The same job killed with SIGKILL after its first checkpoint finishes with the same metrics.
    again = await trainer.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=finetune_job(snapshot.name)))
    deadline = time.monotonic() + 120
    while True:
        current = await trainer.GetTrainingJob(tpb.GetTrainingJobRequest(name=again.name))
        if len(current.checkpoints) and 8 <= current.step < 24:
            break
        assert current.state not in FINISHED and time.monotonic() < deadline, "no checkpoint before the end"
        await asyncio.sleep(0.1)
    pid = qa.trainer_server.scheduler.worker_pid(again.name.split("/")[1])
    os.kill(pid, signal.SIGKILL)
    resumed = await wait_state(trainer, again.name, FINISHED, limit_s=240)
    assert resumed.state == State.STATE_SUCCEEDED, resumed.error
    assert resumed.restart_count == 1
    for key in ("recall@1", "recall@5", "recall@10", "mrr"):
        assert resumed.latest_metrics[f"validation/{key}"] == pytest.approx(job.latest_metrics[f"validation/{key}"],
                                                                              abs=0.02), key
    assert elapsed < 150, f"the tiny fine-tune took {elapsed:.0f} s"


async def test_projection_heads_train_in_seconds_with_their_baseline_and_evaluate_reproduces_them(qa: Suite) -> None:
    snapshot = await _snapshot(qa.corpus(), embedded=True)
    trainer = qa.trainer()
    started = time.monotonic()
    job = await trainer.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=TrainingJob(
        recipe=cfg.RECIPE_PROJECTION_HEADS, data_source=cfg.DataSource(snapshot=snapshot.name),
        projection_heads=cfg.ProjectionHeadsConfig(temperature=0.05,
                                                   projection=cfg.ProjectionHeadsConfig.PROJECTION_RIDGE,
                                                   ridge_lambda=0.5),
        options=cfg.TrainingOptions(seed=1))))
    job = await wait_state(trainer, job.name, FINISHED, limit_s=60)
    assert job.state == State.STATE_SUCCEEDED, job.error
    assert time.monotonic() - started < 60
    assert job.total_steps == 1
    for key in ("recall@1", "recall@5", "recall@10", "mrr"):
        assert 0 < job.latest_metrics[f"validation/{key}"] <= 1
        assert 0 < job.baseline_metrics[f"validation/{key}"] <= 1
    # Routing to clusters of paraphrases beats raw question → answer similarity of the frozen model.
    assert job.latest_metrics["validation/mrr"] > job.baseline_metrics["validation/mrr"]

    version = await _version(qa, job)
    metrics = {m.key: m.value for m in version.metrics}
    assert metrics["baseline/validation/recall@1"] == pytest.approx(job.baseline_metrics["validation/recall@1"])
    from lathe.ml.projection_heads import ProjectionHeads

    model = ProjectionHeads.load(Path(version.artifact_uri.removeprefix("file://")))
    assert model.config.projection == "ridge" and model.config.head_count == snapshot.counts.total.qa_cluster_count
    top = model.search(model.centroids[:1], k=3)[0]
    assert len(top) == 3 and top[0]["qa_cluster"] == model.heads[0] and top[0]["score"] >= top[1]["score"]

    result = await trainer.Evaluate(tpb.EvaluateRequest(model_version=version.name, snapshot=snapshot.name))
    for key in ("recall@1", "recall@5", "recall@10", "mrr"):
        assert abs(result.metrics[key] - metrics[f"validation/{key}"]) <= 1e-6, key

    # Evaluate's errors name the field.
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await trainer.Evaluate(tpb.EvaluateRequest(model_version="models/x/versions/1", snapshot="nope"))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and _violation(bad.value) == "snapshot"
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await trainer.Evaluate(tpb.EvaluateRequest(model_version="models/none/versions/9", snapshot=snapshot.name))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    plain = await _snapshot(qa.corpus())
    with pytest.raises(grpc.aio.AioRpcError) as unembedded:
        await trainer.Evaluate(tpb.EvaluateRequest(model_version=version.name, snapshot=plain.name))
    assert unembedded.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_bad_qa_configurations_are_rejected_at_creation_naming_the_field(qa: Suite) -> None:
    corpus, trainer = qa.corpus(), qa.trainer()
    good = await _snapshot(corpus)
    one = await _snapshot(corpus, filter='external_id = "stackfaq:7"')
    texts = await corpus.AddTexts(cpb.AddTextsRequest(texts=[{"content": "no questions here " * 20}]))
    assert texts.results
    plain = await corpus.CreateSnapshot(cpb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot(filter="type = TEXT")))

    async def rejected(job: TrainingJob) -> tuple[grpc.StatusCode, str, str]:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await trainer.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=job))
        return exc.value.code(), _violation(exc.value), exc.value.details()

    code, field, text = await rejected(finetune_job(plain.name))
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "training_job.data_source") and "no Q-A" in text
    code, field, text = await rejected(finetune_job(one.name))
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "training_job.data_source") and "two" in text
    for temperature in (-0.5, float("nan")):
        code, field, _ = await rejected(TrainingJob(
            recipe=cfg.RECIPE_PROJECTION_HEADS, data_source=cfg.DataSource(snapshot=good.name),
            projection_heads=cfg.ProjectionHeadsConfig(temperature=temperature)))
        assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "training_job.projection_heads.temperature")
    code, field, _ = await rejected(TrainingJob(
        recipe=cfg.RECIPE_PROJECTION_HEADS, data_source=cfg.DataSource(snapshot=good.name)))
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "training_job.projection_heads.embedding_model")
    code, field, _ = await rejected(finetune_job(good.name, early_stopping=cfg.EarlyStopping(metric="validation/loss")))
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "training_job.options.early_stopping.metric")
    bad_scale = finetune_job(good.name)
    bad_scale.embedding_finetune.similarity_scale = 0
    code, field, _ = await rejected(bad_scale)
    assert field == "training_job.embedding_finetune.similarity_scale"
    # A valid job resolves the recipe's defaults.
    resolved = await trainer.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        validate_only=True, training_job=TrainingJob(recipe=cfg.RECIPE_EMBEDDING_FINETUNE,
                                                     data_source=cfg.DataSource(snapshot=good.name))))
    assert resolved.options.max_epochs == 1 and resolved.options.learning_rate == pytest.approx(2e-5)
    assert resolved.options.checkpoint_policy.best_metric == "validation/mrr"
    assert resolved.embedding_finetune.base_model == "embeddingModels/all-minilm-l6-v2"
