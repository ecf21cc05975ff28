"""Bad configurations are rejected at creation, naming the field; nothing is created."""

from __future__ import annotations

import grpc
import pytest

from lathe.corpus.v1 import corpus_service_pb2 as cpb
from lathe.corpus.v1 import snapshot_pb2, text_pb2
from lathe.kit.errors import from_rpc_error
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from tests.trainer.integration.conftest import tiny_job


async def _rejected(stub, job, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=job))
    assert info.value.code() == code, info.value.details()
    error = from_rpc_error(info.value)
    return error.field_violations[0].field if error.field_violations else error.metadata.get("field", "")


async def test_invalid_configs_are_rejected_at_creation_with_the_field_named(suite) -> None:
    stub = suite.trainer()
    job = tiny_job(suite.snapshot)
    job.recipe = cfg.RECIPE_UNSPECIFIED
    assert await _rejected(stub, job, grpc.StatusCode.INVALID_ARGUMENT) == "training_job.recipe"
    job = tiny_job(suite.snapshot, learning_rate=-0.1)
    assert await _rejected(stub, job, grpc.StatusCode.INVALID_ARGUMENT) == "training_job.options.learning_rate"
    corpus = suite.corpus()
    await corpus.AddTexts(cpb.AddTextsRequest(texts=[text_pb2.Text(
        content="A short note. " * 40, source="notes/short.txt")]))
    small = await corpus.CreateSnapshot(cpb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot(
        filter='source = "notes/short.txt"', split_config=snapshot_pb2.SplitConfig(
            text_strategy=snapshot_pb2.TEXT_SPLIT_STRATEGY_TAIL, validation_fraction=0.2))))
    job = tiny_job(small.name)
    job.causal_lm.block_size = 1000
    assert await _rejected(stub, job, grpc.StatusCode.INVALID_ARGUMENT) == "training_job.causal_lm.block_size"
    job = tiny_job(suite.snapshot)
    job.causal_lm.heads = 3
    assert await _rejected(stub, job, grpc.StatusCode.INVALID_ARGUMENT) == "training_job.causal_lm.heads"
    job = tiny_job("snapshots/does-not-exist")
    assert await _rejected(stub, job, grpc.StatusCode.NOT_FOUND) == "training_job.data_source.snapshot"
    job = tiny_job(suite.snapshot)
    job.ngram_lm.order = 2
    assert await _rejected(stub, job, grpc.StatusCode.INVALID_ARGUMENT) == "training_job.ngram_lm"
    job = tiny_job(suite.snapshot)
    job.scheduling.priority = 50
    assert await _rejected(stub, job, grpc.StatusCode.PERMISSION_DENIED) == "training_job.scheduling.priority"
    listed = await stub.ListTrainingJobs(tpb.ListTrainingJobsRequest())
    assert not listed.training_jobs
    # validate_only resolves defaults and creates nothing.
    preview = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=tiny_job(suite.snapshot), validate_only=True))
    assert preview.options.min_learning_rate == pytest.approx(3e-4) and preview.snapshot == suite.snapshot
    assert not (await stub.ListTrainingJobs(tpb.ListTrainingJobsRequest())).training_jobs


async def test_latest_corpus_is_pinned_as_a_snapshot(suite) -> None:
    stub = suite.trainer()
    job = tiny_job(suite.snapshot)
    job.data_source.latest_corpus.SetInParent()
    created = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=job, validate_only=True))
    assert created.data_source.WhichOneof("source") == "latest_corpus"
    job.data_source.latest_corpus.filter = "this is not a filter ((("
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=job))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
