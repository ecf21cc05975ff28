"""Q-A retrieval quality on StackFAQ: the un-tuned model, embedding-finetune and projection-heads.

Starts the real corpus, registry, history and trainer servers in this process on a fresh PostgreSQL
database (from LATHE_TEST_DATABASE_URL, dropped at the end), imports /work/shared/datasets/stackfaq.json
through the corpus service, snapshots it (``by_question`` split, 10% of the questions held out, embedded by
all-MiniLM-L6-v2), trains projection-heads and a short fine-tune through the trainer, and reports each
model's held-out recall@1/5/10 and MRR (every answer ranked for every held-out question) beside the
un-tuned model's. It also times the fine-tune's steps/s against a bare PyTorch loop of the same loss and
batch run here on the same number of threads. Ends with one line of JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from lathe.corpus.v1 import corpus_service_pb2 as cpb
from lathe.corpus.v1 import import_batch_pb2, snapshot_pb2
from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub
from lathe.kit.auth import ROLE_ADMIN, ROLE_SERVICE, write_tokens_file
from lathe.kit.clients import create_channel
from lathe.kit.datasets import datasets_dir
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2
from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub

STACKFAQ = datasets_dir() / "stackfaq.json"
THREADS = 2
STEPS, BATCH, SEQ = 80, 32, 64
TrainingJob = training_job_pb2.TrainingJob
State = TrainingJob.State
FINISHED = {State.STATE_SUCCEEDED, State.STATE_FAILED, State.STATE_CANCELLED}


async def create_database() -> tuple[str, str, str]:
    base = os.environ.get("LATHE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = make_url(base)
    name = f"lathe_qa_bench_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return admin, name, url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


async def wait_job(stub: TrainerServiceStub, name: str, limit_s: float) -> TrainingJob:
    deadline = time.monotonic() + limit_s
    while True:
        job = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=name))
        if job.state in FINISHED:
            return job
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} still {State.Name(job.state)} at step {job.step}")
        await asyncio.sleep(0.5)


def bare_loop_steps_per_second(data_dir: Path, job: TrainingJob, steps: int = 8) -> float:
    """The same loss, batches and optimizer in a plain loop (no service, no events): steps/s after a warm-up."""
    import torch

    from services.trainer.recipes.base import RecipeContext
    from services.trainer.recipes.embedding_finetune import EmbeddingFinetuneRecipe, mnr_loss
    from services.trainer.recipes.qa_eval import base_model_path, load_sentence_model

    torch.set_num_threads(THREADS)
    recipe = EmbeddingFinetuneRecipe(RecipeContext(job=job, data_dir=data_dir, device="cpu", seed=5,
                                                   total_steps=steps + 1))
    recipe.prepare()  # only to draw the same batches
    model = load_sentence_model(base_model_path(), "cpu", SEQ)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(i: int) -> None:
        questions, answers, clusters = recipe.batch(i)
        eq = model(model.preprocess(questions))["sentence_embedding"]
        ea = model(model.preprocess(answers))["sentence_embedding"]
        loss = mnr_loss(eq, ea, torch.tensor(clusters), 20.0)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(1)
    start = time.perf_counter()
    for i in range(2, steps + 2):
        step(i)
    return steps / (time.perf_counter() - start)


async def main() -> int:
    from services.corpus import app as corpus_app
    from services.corpus.settings import CorpusSettings
    from services.history import app as history_app
    from services.history.settings import HistorySettings
    from services.registry import app as registry_app
    from services.registry.settings import RegistrySettings
    from services.trainer import app as trainer_app
    from services.trainer.settings import TrainerSettings

    admin_url, db_name, db_url = await create_database()
    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    servers = []
    try:
        tokens = tmp / "tokens.json"
        write_tokens_file(tokens, [("bench-admin", "admin", [ROLE_ADMIN]), ("bench-svc", "svc", [ROLE_SERVICE])])
        imports = tmp / "imports"
        imports.mkdir()
        shutil.copy(STACKFAQ, imports / "stackfaq.json")
        common = {"home": tmp / "home", "port": 0, "database_url": db_url, "tokens_file": tokens,
                  "log_level": "warning"}

        async def start(module, settings_cls, **extra):
            server = await module.build(settings_cls(**{**common, "database_schema": f"s_{uuid.uuid4().hex[:8]}",
                                                        **extra}))
            await server.start()
            servers.append(server)
            return server

        corpus_server = await start(corpus_app, CorpusSettings, import_roots=[imports], corpus_embed_on_import=False,
                                    corpus_import_poll_seconds=0.2, corpus_embedding_device="cpu")
        registry_server = await start(registry_app, RegistrySettings)
        history_server = await start(history_app, HistorySettings)
        trainer_server = await start(
            trainer_app, TrainerSettings, service_token="bench-svc", corpus_address=corpus_server.address,
            registry_address=registry_server.address, history_address=history_server.address,
            trainer_devices="cpu", trainer_cpu_threads=THREADS, trainer_outbox_poll_seconds=0.2)
        corpus = CorpusServiceStub(create_channel(corpus_server.address, token="bench-admin", default_timeout=300))
        trainer = TrainerServiceStub(create_channel(trainer_server.address, token="bench-admin", default_timeout=300))

        t0 = time.monotonic()
        scan = await corpus.ImportFiles(cpb.ImportFilesRequest(root=str(imports)))
        while True:
            batches = [await corpus.GetImportBatch(cpb.GetImportBatchRequest(name=n)) for n in scan.import_batches]
            if all(b.state in (import_batch_pb2.ImportBatch.STATE_COMPLETED, import_batch_pb2.ImportBatch.STATE_FAILED)
                   for b in batches):
                break
            await asyncio.sleep(0.2)
        snapshot = await corpus.CreateSnapshot(cpb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot(
            split_config=snapshot_pb2.SplitConfig(qa_strategy=snapshot_pb2.QA_SPLIT_STRATEGY_BY_QUESTION,
                                                  validation_fraction=0.1),
            embedding_models=["embeddingModels/all-minilm-l6-v2"])))
        while snapshot.state == snapshot_pb2.Snapshot.STATE_CREATING:
            await asyncio.sleep(1)
            snapshot = await corpus.GetSnapshot(cpb.GetSnapshotRequest(name=snapshot.name))
        prepare_s = time.monotonic() - t0
        counts = snapshot.counts

        t0 = time.monotonic()
        heads = await trainer.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=TrainingJob(
            recipe=cfg.RECIPE_PROJECTION_HEADS, data_source=cfg.DataSource(snapshot=snapshot.name),
            projection_heads=cfg.ProjectionHeadsConfig(projection=cfg.ProjectionHeadsConfig.PROJECTION_RIDGE),
            options=cfg.TrainingOptions(seed=1))))
        heads = await wait_job(trainer, heads.name, 120)
        heads_s = time.monotonic() - t0

        finetune = TrainingJob(
            recipe=cfg.RECIPE_EMBEDDING_FINETUNE, data_source=cfg.DataSource(snapshot=snapshot.name),
            embedding_finetune=cfg.EmbeddingFinetuneConfig(max_seq_length=SEQ),
            options=cfg.TrainingOptions(seed=5, max_steps=STEPS, batch_size=BATCH, learning_rate=1e-4,
                                        warmup_steps=4, eval_interval_steps=1000, log_interval_steps=1,
                                        checkpoint_policy=cfg.CheckpointPolicy(interval_steps=1000)))
        t0 = time.monotonic()
        tuned = await trainer.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=finetune))
        tuned = await wait_job(trainer, tuned.name, 420)
        tune_s = time.monotonic() - t0
        for job in (heads, tuned):
            if job.state != State.STATE_SUCCEEDED:
                raise RuntimeError(f"{job.name} {State.Name(job.state)}: {job.error.message}")
        events = await trainer.ListTrainingEvents(tpb.ListTrainingEventsRequest(
            parent=tuned.name, filter="type = step_metrics", page_size=1000))
        stamps = [(e.step_metrics.step, e.event_time.ToNanoseconds() / 1e9) for e in events.events]
        (s0, t_first), (s1, t_last) = stamps[1], stamps[-1]
        service_sps = (s1 - s0) / (t_last - t_first)
        resolved = await trainer.GetTrainingJob(tpb.GetTrainingJobRequest(name=tuned.name))
        data_dir = tmp / "home" / "trainer" / "data" / snapshot.name.split("/")[1]
        bare_sps = bare_loop_steps_per_second(data_dir, resolved)
    finally:
        for server in reversed(servers):
            await server.stop(0)
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await conn.close()
        shutil.rmtree(tmp, ignore_errors=True)

    keys = ("recall@1", "recall@5", "recall@10", "mrr")
    rows = [("all-MiniLM-L6-v2 (un-tuned)", tuned.baseline_metrics),
            (f"embedding-finetune ({STEPS} steps x {BATCH})", tuned.latest_metrics),
            ("projection-heads (ridge)", heads.latest_metrics)]
    print(f"StackFAQ: {counts.total.qa_cluster_count} clusters, {counts.total.answer_count} answers, "
          f"{counts.validation.question_count} held-out questions (by_question split); snapshot + embeddings "
          f"{prepare_s:.0f} s, projection-heads job {heads_s:.1f} s, fine-tune job {tune_s:.0f} s")
    print(f"{'model':38s} " + " ".join(f"{k:>10s}" for k in keys))
    for label, metrics in rows:
        print(f"{label:38s} " + " ".join(f"{metrics[f'validation/{k}']:10.4f}" for k in keys))
    ratio = service_sps / bare_sps
    print(f"fine-tune steps/s: trainer {service_sps:.3f}, bare PyTorch loop {bare_sps:.3f} -> {ratio:.2f}x "
          f"({THREADS} CPU threads, batch {BATCH}, max_seq_length {SEQ})")
    gain = 100 * (tuned.latest_metrics["validation/recall@1"] - tuned.baseline_metrics["validation/recall@1"])
    figures = {f"{name}/{k}": round(m[f"validation/{k}"], 4) for name, m in
               (("untuned", tuned.baseline_metrics), ("finetuned", tuned.latest_metrics),
                ("projection_heads", heads.latest_metrics)) for k in keys}
    figures.update({"finetune_steps_per_second": round(service_sps, 4), "bare_steps_per_second": round(bare_sps, 4),
                    "throughput_ratio": round(ratio, 3), "recall@1_gain_points": round(gain, 2),
                    "projection_heads_seconds": round(heads_s, 2)})
    targets = {"throughput_ratio": ">= 0.9", "recall@1_gain_points": ">= 5"}
    met = ratio >= 0.9 and gain >= 5
    print(json.dumps({"bench": "qa_quality", "figures": figures, "targets": targets, "met": met}))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
