"""Fixtures of the trainer integration tests: a real corpus (tinyshakespeare imported), registry, history and
trainer on the same database backend, and helpers to create tiny jobs and wait for their states."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from lathe.corpus.v1 import corpus_service_pb2 as cpb
from lathe.corpus.v1 import import_batch_pb2, snapshot_pb2
from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub
from lathe.history.v1.history_service_pb2_grpc import HistoryServiceStub
from lathe.kit.datasets import datasets_dir
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2
from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub

SHAKESPEARE = datasets_dir() / "tinyshakespeare.txt"
TrainingJob = training_job_pb2.TrainingJob
State = TrainingJob.State
DONE = {import_batch_pb2.ImportBatch.STATE_COMPLETED, import_batch_pb2.ImportBatch.STATE_FAILED}


@dataclass
class Suite:
    """The started services and how to reach them."""

    start_service: Any
    channel_to: Any
    tokens: Any
    corpus_server: Any
    registry_server: Any
    history_server: Any
    trainer_server: Any
    snapshot: str
    trainer_overrides: dict[str, Any]

    def trainer(self, token: str | None = None) -> TrainerServiceStub:
        return TrainerServiceStub(self.channel_to(self.trainer_server, token or self.tokens.alice))

    def corpus(self, token: str | None = None) -> CorpusServiceStub:
        return CorpusServiceStub(self.channel_to(self.corpus_server, token or self.tokens.alice))

    def registry(self) -> RegistryServiceStub:
        return RegistryServiceStub(self.channel_to(self.registry_server, self.tokens.admin))

    def history(self) -> HistoryServiceStub:
        return HistoryServiceStub(self.channel_to(self.history_server, self.tokens.admin))

    async def restart_trainer(self) -> None:
        """Stop the trainer service (its workers die with it) and start a new one on the same database."""
        await self.trainer_server.stop(0)
        self.trainer_server = await self.start_service("trainer", **self.trainer_overrides)


def tiny_job(snapshot: str, *, steps: int = 120, checkpoint_every: int = 40, width: int = 64, batch: int = 16,
             **options: Any) -> TrainingJob:
    """A causal-lm job that trains in seconds on two CPU cores."""
    return TrainingJob(
        display_name="tiny", recipe=cfg.RECIPE_CAUSAL_LM,
        causal_lm=cfg.CausalLmConfig(layers=2, heads=4, embedding_size=width, block_size=64),
        options=cfg.TrainingOptions(
            seed=7, max_steps=steps, learning_rate=options.pop("learning_rate", 3e-3), warmup_steps=10,
            batch_size=batch, eval_interval_steps=40, eval_batches=4,
            checkpoint_policy=cfg.CheckpointPolicy(interval_steps=checkpoint_every, keep_last=2, keep_best=1),
            **options),
        data_source=cfg.DataSource(snapshot=snapshot))


async def wait_state(stub: TrainerServiceStub, name: str, states: set[int], limit_s: float = 240) -> TrainingJob:
    """Poll until the job is in one of ``states``."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        job = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=name))
        if job.state in states:
            return job
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{name} still {State.Name(job.state)} (step {job.step}): {job.error}")
        await asyncio.sleep(0.2)


async def wait_for_event(stub: TrainerServiceStub, name: str, kind: str, predicate=lambda e: True,
                         limit_s: float = 120):
    """Watch the job until an event of ``kind`` satisfying ``predicate``; returns it."""
    async def watch():
        async for response in stub.WatchTrainingEvents(tpb.WatchTrainingEventsRequest(parent=name)):
            if response.WhichOneof("kind") == "event" and response.event.WhichOneof("payload") == kind \
                    and predicate(response.event):
                return response.event
        raise AssertionError(f"{name} ended without a {kind} event")
    return await asyncio.wait_for(watch(), limit_s)


@pytest.fixture
async def suite(start_service, channel_to, tokens, tmp_path) -> Suite:
    """Corpus (tinyshakespeare imported and snapshotted with a tail split), registry, history and trainer."""
    imports = tmp_path / "imports"
    imports.mkdir()
    shutil.copy(SHAKESPEARE, imports / "tinyshakespeare.txt")
    corpus_server = await start_service("corpus", import_roots=[imports], corpus_embed_on_import=False,
                                        corpus_import_poll_seconds=0.2)
    registry_server = await start_service("registry")
    history_server = await start_service("history")
    corpus = CorpusServiceStub(channel_to(corpus_server, tokens.alice))
    scan = await corpus.ImportFiles(cpb.ImportFilesRequest(root=str(imports)))
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        batches = [await corpus.GetImportBatch(cpb.GetImportBatchRequest(name=n)) for n in scan.import_batches]
        if all(b.state in DONE for b in batches):
            break
        assert asyncio.get_running_loop().time() < deadline, "import did not finish"
        await asyncio.sleep(0.1)
    snapshot = await corpus.CreateSnapshot(cpb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot(
        split_config=snapshot_pb2.SplitConfig(text_strategy=snapshot_pb2.TEXT_SPLIT_STRATEGY_TAIL,
                                              validation_fraction=0.1))))
    overrides = {"service_token": tokens.service, "corpus_address": corpus_server.address,
                 "registry_address": registry_server.address, "history_address": history_server.address,
                 "database_schema": f"trainer_{uuid.uuid4().hex[:10]}",
                 "trainer_devices": "cpu", "trainer_cpu_threads": 2, "trainer_cancel_grace_seconds": 3.0,
                 "trainer_outbox_poll_seconds": 0.2, "trainer_outbox_max_backoff_seconds": 1.0}
    trainer_server = await start_service("trainer", **overrides)
    return Suite(start_service, channel_to, tokens, corpus_server, registry_server, history_server,
                 trainer_server, snapshot.name, overrides)
