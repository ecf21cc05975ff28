"""Trainer benchmark: the service's training loop against a bare PyTorch loop, watchers, and RSS on 1 GB.

Starts the real corpus, registry, history and trainer servers in process on a fresh PostgreSQL database
(from LATHE_TEST_DATABASE_URL, default the local server; dropped at the end), imports tinyshakespeare and
snapshots it, then measures on the CPU with ``OMP_NUM_THREADS=1`` (one torch thread per process):

* **service vs bare**: the same causal-lm job (same model, data, batch, optimizer, schedule, clipping) run
  through the trainer service (a worker process, events every step, checkpoints every 50 steps, the event
  log written to PostgreSQL) and as a bare PyTorch loop in a subprocess (nanoGPT-style ``np.memmap``
  batches, nothing else).
* **50 watchers vs none**: the service job with 50 concurrent ``WatchTrainingEvents`` streams attached.
* **RSS on 1 GB**: the worker's peak RSS (``VmHWM``) training on a 1 GB token file against a 10 MB one.

The machine is shared and noisy, so the comparison is per-step **CPU time** of the training process, not
wall time: the worker's utime+stime is sampled from ``/proc`` every 10 ms and interpolated at the worker's
own ``event_time`` of the step-metrics events of steps WARM and STEPS (so checkpoints saved in between are
included); the bare loop reads ``time.process_time()`` at the same steps. Rounds run the three arms in a
rotating order; medians over the rounds are quoted.

Targets (issue 6): service >= 0.95x bare; 50 watchers >= 0.95x none; 1 GB peak RSS <= 10 MB peak + 100 MB.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

# One torch thread everywhere (the workers inherit it; the bare loop sets it too).
os.environ["OMP_NUM_THREADS"] = "1"

import asyncpg
from sqlalchemy.engine import make_url

from lathe.corpus.v1 import corpus_service_pb2 as cpb
from lathe.corpus.v1 import import_batch_pb2, snapshot_pb2
from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub
from lathe.kit.auth import ROLE_ADMIN, ROLE_SERVICE, ROLE_USER, write_tokens_file
from lathe.kit.clients import create_channel
from lathe.kit.datasets import datasets_dir
from lathe.kit.logging import configure_logging
from lathe.kit.settings import LogFormat
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2
from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub

SHAKESPEARE = datasets_dir() / "tinyshakespeare.txt"
TrainingJob = training_job_pb2.TrainingJob
State = TrainingJob.State
ROUNDS = 5
STEPS = 200
WARM = 20
CHECKPOINT_EVERY = 50
WATCHERS = 50
RSS_STEPS = 120
MODEL = {"layers": 2, "heads": 4, "embedding_size": 128, "block_size": 64}
BATCH = 16
SMALL_BYTES = 10 * 1024 * 1024
LARGE_BYTES = 1024 * 1024 * 1024
TARGET_SERVICE_RATIO = 0.95
TARGET_WATCHERS_RATIO = 0.95
TARGET_RSS_DELTA_MB = 100.0
TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------- bare loop

def bare_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """A bare PyTorch training loop: same model, batches, AdamW, schedule and clipping; no service."""
    import math

    import numpy as np
    import torch

    from lathe.ml.causal_lm import GPT, GPTConfig

    torch.set_num_threads(1)
    torch.manual_seed(spec["seed"])
    config = GPTConfig(vocab_size=256, block_size=spec["block_size"], n_layer=spec["layers"],
                       n_head=spec["heads"], n_embd=spec["embedding_size"], dropout=0.0, bias=False)
    model = GPT(config)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": spec["weight_decay"]},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=spec["lr"], betas=(0.9, 0.95))
    peak, floor, warmup, total = spec["lr"], spec["min_lr"], spec["warmup"], spec["steps"]

    def lr_at(step: int) -> float:
        if warmup and step <= warmup:
            return peak * step / warmup
        ratio = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * ratio))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_at(s + 1) / peak)
    data = np.memmap(spec["train"], dtype=np.uint8, mode="r")
    block, batch = spec["block_size"], spec["batch"]
    cpu = {0: time.process_time()}
    losses = []
    for step in range(1, total + 1):
        ix = torch.randint(len(data) - block - 1, (batch,))
        rows = torch.stack([torch.from_numpy(data[i:i + block + 1].astype(np.int64)) for i in ix.tolist()])
        x, y = rows[:, :-1].contiguous(), rows[:, 1:].contiguous()
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), spec["max_grad_norm"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        losses.append(loss.item())
        cpu[step] = time.process_time()
    return {"cpu": cpu, "loss": losses[-1], "peak_rss_kb": _status_kb(os.getpid(), "VmHWM")}


# ---------------------------------------------------------------------------------------------- sampling

def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


class ProcSampler:
    """Samples a process's CPU seconds (utime+stime, all threads) and peak RSS every 10 ms until it exits."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.peak_rss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            cpu = _cpu_seconds(self.pid)
            if cpu is None:
                return
            self.samples.append((time.time(), cpu))
            self.peak_rss_kb = max(self.peak_rss_kb, _status_kb(self.pid, "VmHWM"))
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def cpu_at(self, when: float) -> float:
        """The process's CPU seconds at wall time ``when``, interpolated between samples."""
        samples = self.samples
        for (t0, c0), (t1, c1) in itertools.pairwise(samples):
            if t0 <= when <= t1:
                return c0 + (c1 - c0) * ((when - t0) / (t1 - t0) if t1 > t0 else 0.0)
        raise ValueError("time outside the sampled range")


# ---------------------------------------------------------------------------------------------- services

class Bench:
    def __init__(self, tmp: Path, url: str) -> None:
        self.tmp = tmp
        self.url = url
        self.servers: list[Any] = []
        self.channels: list[Any] = []

    async def start(self, service: str, **overrides: Any) -> Any:
        import importlib

        app = importlib.import_module(f"services.{service}.app")
        settings_cls = getattr(importlib.import_module(f"services.{service}.settings"),
                               f"{service.capitalize()}Settings")
        settings = settings_cls(**{"home": self.tmp / "home", "port": 0, "database_url": self.url,
                                   "database_schema": service, "tokens_file": self.tmp / "tokens.json",
                                   "log_level": "warning", "log_format": "json", **overrides})
        server = await app.build(settings)
        await server.start()
        self.servers.append(server)
        return server

    def channel(self, server: Any, token: str) -> Any:
        channel = create_channel(server.address, token=token, default_timeout=120)
        self.channels.append(channel)
        return channel

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()
        for server in reversed(self.servers):
            await server.stop(0)


def job_for(snapshot: str, steps: int) -> TrainingJob:
    return TrainingJob(
        display_name="bench", recipe=cfg.RECIPE_CAUSAL_LM,
        causal_lm=cfg.CausalLmConfig(tokenizer=cfg.TOKENIZER_BYTE, dropout=0.0, bias=False, **MODEL),
        options=cfg.TrainingOptions(
            seed=11, max_steps=steps, learning_rate=3e-3, warmup_steps=10, batch_size=BATCH,
            log_interval_steps=1, eval_interval_steps=steps, eval_batches=2,
            checkpoint_policy=cfg.CheckpointPolicy(interval_steps=CHECKPOINT_EVERY, keep_last=2, keep_best=1)),
        data_source=cfg.DataSource(snapshot=snapshot))


async def service_run(bench: Bench, trainer: Any, stub: TrainerServiceStub, snapshot: str, *, steps: int,
                      watchers: int) -> dict[str, Any]:
    """One job through the service; per-step CPU seconds of its worker between steps WARM and ``steps``."""
    scheduler = trainer.scheduler
    job = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=job_for(snapshot, steps)))
    job_id = job.name.split("/", 1)[1]
    received = [0] * watchers

    async def watch(index: int, watcher: TrainerServiceStub) -> None:
        async for response in watcher.WatchTrainingEvents(tpb.WatchTrainingEventsRequest(parent=job.name)):
            if response.WhichOneof("kind") == "event":
                received[index] += 1

    channels = [create_channel(trainer.address, token="bench-alice", default_timeout=None)
                for _ in range(watchers)]
    tasks = [asyncio.create_task(watch(i, TrainerServiceStub(channel))) for i, channel in enumerate(channels)]
    pid = None
    for _ in range(6000):
        pid = scheduler.worker_pid(job_id)
        if pid is not None:
            break
        await asyncio.sleep(0.005)
    assert pid is not None, "the worker did not start"
    sampler = ProcSampler(pid)
    while True:
        done = await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=job.name))
        if done.state in (State.STATE_SUCCEEDED, State.STATE_FAILED, State.STATE_CANCELLED):
            break
        await asyncio.sleep(0.2)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    for channel in channels:
        await channel.close()
    sampler.stop()
    assert done.state == State.STATE_SUCCEEDED, done.error
    times: dict[int, float] = {}
    token = ""
    kinds: dict[str, int] = {}
    total_events = 0
    while True:
        page = await stub.ListTrainingEvents(tpb.ListTrainingEventsRequest(
            parent=job.name, page_size=1000, page_token=token))
        for event in page.events:
            kind = event.WhichOneof("payload")
            kinds[kind] = kinds.get(kind, 0) + 1
            total_events += 1
            if kind == "step_metrics":
                times[event.step_metrics.step] = event.event_time.ToNanoseconds() / 1e9
        token = page.next_page_token
        if not token:
            break
    # Watch streams end with the terminal event; the registration that follows it is not streamed.
    assert all(n == total_events - kinds.get("model_version_registered", 0) for n in received), received
    per_step = (sampler.cpu_at(times[steps]) - sampler.cpu_at(times[WARM])) / (steps - WARM)
    wall_per_step = (times[steps] - times[WARM]) / (steps - WARM)
    return {"cpu_per_step": per_step, "wall_per_step": wall_per_step, "peak_rss_kb": sampler.peak_rss_kb,
            "events": total_events, "checkpoints": kinds.get("checkpoint_saved", 0), "job": done}


def bare_run(train: Path, job: TrainingJob) -> dict[str, Any]:
    o = job.options
    spec = {"train": str(train), "seed": int(o.seed), "steps": STEPS, "batch": o.batch_size,
            "lr": o.learning_rate, "min_lr": o.min_learning_rate, "warmup": o.warmup_steps,
            "weight_decay": o.weight_decay, "max_grad_norm": o.max_grad_norm, **MODEL}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, __file__, "--bare", json.dumps(spec)], capture_output=True, text=True,
                         env=env, check=True, cwd=Path(__file__).resolve().parents[1])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    cpu = {int(k): v for k, v in result["cpu"].items()}
    return {"cpu_per_step": (cpu[STEPS] - cpu[WARM]) / (STEPS - WARM), "peak_rss_kb": result["peak_rss_kb"]}


def tile(source: bytes, target: Path, size: int) -> None:
    """``size`` bytes of ``source`` repeated: a byte-tokenizer token file (the text is its own tokens)."""
    chunk = source * max(1, (64 * 1024 * 1024) // len(source))
    with open(target, "wb") as sink:
        written = 0
        while written < size:
            part = chunk[:size - written]
            sink.write(part)
            written += len(part)


async def make_snapshot(corpus: CorpusServiceStub, label: str) -> str:
    snapshot = await corpus.CreateSnapshot(cpb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot(
        display_name=label, split_config=snapshot_pb2.SplitConfig(
            text_strategy=snapshot_pb2.TEXT_SPLIT_STRATEGY_TAIL, validation_fraction=0.1))))
    return snapshot.name


async def main() -> int:
    configure_logging("warning", LogFormat.JSON, service="trainer-bench")
    admin_url = make_url(os.environ.get("LATHE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"lathe_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    tmp = Path(tempfile.mkdtemp(prefix="trainer-bench-"))
    write_tokens_file(tmp / "tokens.json", [("bench-admin", "admin", [ROLE_ADMIN]),
                                            ("bench-service", "service", [ROLE_SERVICE]),
                                            ("bench-alice", "alice", [ROLE_USER])])
    bench = Bench(tmp, url)
    started = time.perf_counter()
    rounds: list[dict[str, Any]] = []
    rss: dict[str, int] = {}
    try:
        imports = tmp / "imports"
        imports.mkdir()
        shutil.copy(SHAKESPEARE, imports / "tinyshakespeare.txt")
        corpus_server = await bench.start("corpus", import_roots=[imports], corpus_embed_on_import=False,
                                          corpus_import_poll_seconds=0.2)
        history_server = await bench.start("history")
        registry_server = await bench.start("registry", service_token="bench-service",
                                            history_address=history_server.address)
        corpus = CorpusServiceStub(bench.channel(corpus_server, "bench-alice"))
        scan = await corpus.ImportFiles(cpb.ImportFilesRequest(root=str(imports)))
        for _ in range(600):
            batches = [await corpus.GetImportBatch(cpb.GetImportBatchRequest(name=n)) for n in scan.import_batches]
            if all(b.state in (import_batch_pb2.ImportBatch.STATE_COMPLETED,
                               import_batch_pb2.ImportBatch.STATE_FAILED) for b in batches):
                break
            await asyncio.sleep(0.1)
        snapshot = await make_snapshot(corpus, "bench")
        trainer = await bench.start(
            "trainer", service_token="bench-service", corpus_address=corpus_server.address,
            registry_address=registry_server.address, history_address=history_server.address,
            trainer_devices="cpu", trainer_cpu_threads=1)
        stub = TrainerServiceStub(bench.channel(trainer, "bench-alice"))
        data = tmp / "home" / "trainer" / "data"

        arms = ["bare", "service", "service+50 watchers"]
        resolved = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(
            training_job=job_for(snapshot, STEPS), validate_only=True))
        train_file = data / snapshot.split("/", 1)[1] / "train.txt"
        for index in range(ROUNDS):
            row: dict[str, Any] = {}
            order = arms[index % 3:] + arms[:index % 3]
            for arm in order:
                if arm == "bare":
                    if not train_file.exists():
                        # The data are fetched from the corpus by the first service job; fetch them now.
                        await trainer.scheduler.data_dir(resolved)
                    row[arm] = bare_run(train_file, resolved)
                else:
                    result = await service_run(bench, trainer, stub, snapshot, steps=STEPS,
                                               watchers=WATCHERS if "watchers" in arm else 0)
                    result.pop("job")
                    row[arm] = result
            rounds.append(row)
            print(f"round {index + 1}: " + ", ".join(
                f"{arm} {row[arm]['cpu_per_step'] * 1000:.2f} ms" for arm in arms), flush=True)

        # RSS: the same job on a 10 MB and a 1 GB token file (byte tokens: the text file is the token file).
        text = SHAKESPEARE.read_bytes()
        for label, size in (("10MB", SMALL_BYTES), ("1GB", LARGE_BYTES)):
            name_ = await make_snapshot(corpus, f"bench-{label}")
            # Let the trainer cache the snapshot as it would for a job, then swap in the big token file.
            folder = await trainer.scheduler.data_dir(TrainingJob(snapshot=name_))
            tile(text, folder / "train.txt", size)
            result = await service_run(bench, trainer, stub, name_, steps=RSS_STEPS, watchers=0)
            assert (folder / "train.txt").stat().st_size == size, "the trainer replaced the token file"
            assert result["job"].total_steps == RSS_STEPS
            rss[label] = result["peak_rss_kb"]
            (folder / "train.txt").unlink()
    finally:
        await bench.close()
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(arm: str, key: str = "cpu_per_step") -> float:
        return statistics.median(r[arm][key] for r in rounds)

    tokens_per_step = BATCH * MODEL["block_size"]
    service_ratios = [r["bare"]["cpu_per_step"] / r["service+50 watchers"]["cpu_per_step"] for r in rounds]
    plain_ratios = [r["bare"]["cpu_per_step"] / r["service"]["cpu_per_step"] for r in rounds]
    watcher_ratios = [r["service"]["cpu_per_step"] / r["service+50 watchers"]["cpu_per_step"] for r in rounds]
    figures = {
        "bare_tokens_per_cpu_s": round(tokens_per_step / med("bare"), 1),
        "service_tokens_per_cpu_s": round(tokens_per_step / med("service"), 1),
        "service_50_watchers_tokens_per_cpu_s": round(tokens_per_step / med("service+50 watchers"), 1),
        "service_vs_bare": round(statistics.median(service_ratios), 3),
        "service_no_watchers_vs_bare": round(statistics.median(plain_ratios), 3),
        "watchers_50_vs_none": round(statistics.median(watcher_ratios), 3),
        "peak_rss_10mb_mb": round(rss["10MB"] / 1024, 1),
        "peak_rss_1gb_mb": round(rss["1GB"] / 1024, 1),
        "rss_delta_mb": round((rss["1GB"] - rss["10MB"]) / 1024, 1),
        "rounds": ROUNDS,
        "total_s": round(time.perf_counter() - started, 1),
    }
    met = (figures["service_vs_bare"] >= TARGET_SERVICE_RATIO
           and figures["service_no_watchers_vs_bare"] >= TARGET_SERVICE_RATIO
           and figures["watchers_50_vs_none"] >= TARGET_WATCHERS_RATIO
           and figures["rss_delta_mb"] <= TARGET_RSS_DELTA_MB)
    print(f"\ntrainer bench: causal-lm {MODEL['layers']} layers x {MODEL['embedding_size']} wide, block "
          f"{MODEL['block_size']}, batch {BATCH} ({tokens_per_step} tokens/step), {STEPS} steps, CPU, "
          f"OMP_NUM_THREADS=1; per-step CPU time over steps {WARM}-{STEPS} (checkpoints every "
          f"{CHECKPOINT_EVERY} steps, an event every step), {ROUNDS} rotating rounds, medians")
    print(f"{'arm':<26}{'CPU ms/step':>12}{'wall ms/step':>14}{'tokens/CPU-s':>14}{'ratio':>8}")
    print(f"{'bare PyTorch loop':<26}{med('bare') * 1000:>12.2f}{'':>14}{figures['bare_tokens_per_cpu_s']:>14}"
          f"{1.0:>8.3f}")
    print(f"{'service, no watchers':<26}{med('service') * 1000:>12.2f}{med('service', 'wall_per_step') * 1000:>14.2f}"
          f"{figures['service_tokens_per_cpu_s']:>14}{figures['service_no_watchers_vs_bare']:>8.3f}")
    print(f"{'service, 50 watchers':<26}{med('service+50 watchers') * 1000:>12.2f}"
          f"{med('service+50 watchers', 'wall_per_step') * 1000:>14.2f}"
          f"{figures['service_50_watchers_tokens_per_cpu_s']:>14}{figures['service_vs_bare']:>8.3f}")
    print(f"per-round ratios service(50 watchers)/bare: {[round(r, 3) for r in service_ratios]}")
    print(f"per-round ratios 50 watchers/none:          {[round(r, 3) for r in watcher_ratios]}")
    print(f"events per service job: {rounds[0]['service']['events']} "
          f"({rounds[0]['service']['checkpoints']} checkpoints)")
    print(f"worker peak RSS ({RSS_STEPS} steps): 10 MB token file {figures['peak_rss_10mb_mb']} MB, "
          f"1 GB token file {figures['peak_rss_1gb_mb']} MB (delta {figures['rss_delta_mb']} MB)")
    print(f"targets: service/bare >= {TARGET_SERVICE_RATIO}, 50 watchers/none >= {TARGET_WATCHERS_RATIO}, "
          f"RSS delta <= {TARGET_RSS_DELTA_MB} MB; total {figures['total_s']} s")
    print(json.dumps({"bench": "trainer_throughput", "figures": figures,
                      "targets": {"service_vs_bare": TARGET_SERVICE_RATIO,
                                  "watchers_50_vs_none": TARGET_WATCHERS_RATIO,
                                  "rss_delta_mb": TARGET_RSS_DELTA_MB},
                      "met": met}))
    return 0 if met else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--bare":
        print(json.dumps(bare_loop(json.loads(sys.argv[2]))))
        raise SystemExit(0)
    raise SystemExit(asyncio.run(main()))
