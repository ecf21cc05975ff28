"""``lathe demo``: the whole journey on one machine, in a few minutes on two CPU cores.

Starts a suite in a home folder, imports Tiny Shakespeare and StackFAQ, trains a small causal-lm (with its
n-gram baseline beside it) and an embedding fine-tune, registers and compares the versions, deploys the
fine-tuned embedding model and the language model to ``local``, answers a StackFAQ question and generates a
sample through the Open Inference Protocol endpoint, writes charts and a summary, prints where everything is,
and stops the suite.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from lathe.cli.connect import EXIT_FAILED, EXIT_JOB_FAILED, EXIT_USAGE, HomeOption, resolve_home, run
from lathe.cli.plots import compare_chart, job_series, loss_chart
from lathe.cli.stats import collect
from lathe.cli.suite import Suite
from lathe.client import Lathe
from lathe.corpus.v1 import corpus_service_pb2 as cs
from lathe.corpus.v1 import import_batch_pb2, snapshot_pb2
from lathe.deployer.v1 import deployer_service_pb2 as ds
from lathe.deployer.v1 import deployment_pb2, health_check_pb2
from lathe.kit.datasets import datasets_dir
from lathe.kit.home import Home
from lathe.kit.settings import SERVICES
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2

console = Console()
err = Console(stderr=True)
DATASETS = datasets_dir()
# The Q-A part of the demo uses the 36 StackFAQ threads whose id starts with "stackfaq:1", so the fine-tune
# and its evaluation take about a minute on two cores.
QA_SUBSET = 'external_id = "stackfaq:1*"'
Job = training_job_pb2.TrainingJob
D = deployment_pb2.Deployment
Batch = import_batch_pb2.ImportBatch
S = snapshot_pb2.Snapshot


def _free_port_base(host: str, count: int = len(SERVICES)) -> int:
    """A base port with ``count`` consecutive free ports (the suite's layout)."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((host, 0))
            base = probe.getsockname()[1]
        if base + count < 65535 and all(_free(host, base + i) for i in range(count)):
            return base
    raise RuntimeError("no block of free ports found")


def _free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def causal_lm_job(snapshot: str, steps: int) -> Job:
    """A character-level GPT small enough to train in about a minute on two cores."""
    return Job(display_name="demo causal-lm", recipe=cfg.RECIPE_CAUSAL_LM, model="models/demo-shakespeare",
               causal_lm=cfg.CausalLmConfig(tokenizer=cfg.TOKENIZER_CHAR, layers=2, heads=4, embedding_size=96,
                                            block_size=64, dropout=0.0),
               options=cfg.TrainingOptions(seed=7, max_steps=steps, learning_rate=3e-3, warmup_steps=20,
                                           batch_size=24, eval_interval_steps=max(1, steps // 4), eval_batches=8,
                                           log_interval_steps=5,
                                           checkpoint_policy=cfg.CheckpointPolicy(interval_steps=steps, keep_last=1)),
               data_source=cfg.DataSource(snapshot=snapshot))


def ngram_job(snapshot: str) -> Job:
    """The n-gram baseline, registered as its own version so it can be compared in the registry."""
    return Job(display_name="demo n-gram baseline", recipe=cfg.RECIPE_NGRAM_LM, model="models/demo-shakespeare-ngram",
               ngram_lm=cfg.NgramLmConfig(tokenizer=cfg.TOKENIZER_CHAR, order=2),
               data_source=cfg.DataSource(snapshot=snapshot))


def finetune_job(snapshot: str, steps: int) -> Job:
    """all-MiniLM-L6-v2 fine-tuned on the Q-A subset with in-batch negatives."""
    return Job(display_name="demo embedding fine-tune", recipe=cfg.RECIPE_EMBEDDING_FINETUNE,
               model="models/demo-faq-embeddings",
               embedding_finetune=cfg.EmbeddingFinetuneConfig(max_seq_length=48),
               options=cfg.TrainingOptions(seed=11, max_steps=steps, batch_size=16, learning_rate=1e-4,
                                           warmup_steps=3, eval_interval_steps=1000, log_interval_steps=4,
                                           checkpoint_policy=cfg.CheckpointPolicy(interval_steps=steps, keep_last=1)),
               data_source=cfg.DataSource(snapshot=snapshot))


async def _import(lathe: Lathe, imports: Path) -> None:
    scan = await lathe.corpus.ImportFiles(cs.ImportFilesRequest(root=str(imports)))
    console.print(f"import: {scan.new_file_count} new, {scan.changed_file_count} changed, "
                  f"{scan.unchanged_file_count} unchanged file(s)")
    while True:
        batches = [await lathe.corpus.GetImportBatch(cs.GetImportBatchRequest(name=n)) for n in scan.import_batches]
        if all(b.state in (Batch.STATE_COMPLETED, Batch.STATE_FAILED) for b in batches):
            break
        await asyncio.sleep(0.3)
    failed = [b for b in batches if b.state == Batch.STATE_FAILED]
    if failed:
        raise RuntimeError(f"import of {failed[0].path} failed: {failed[0].failure.reason}")
    stats = await lathe.corpus.GetCorpusStats(cs.GetCorpusStatsRequest())
    console.print(f"corpus: {stats.text_count} text(s), {stats.character_count:,} characters, "
                  f"{stats.qa_cluster_count} Q-A clusters, {stats.question_count} questions")


async def _snapshot(lathe: Lathe, spec: S) -> S:
    made = await lathe.corpus.CreateSnapshot(cs.CreateSnapshotRequest(snapshot=spec, reuse_existing=True))
    while made.state == S.STATE_CREATING:
        await asyncio.sleep(0.3)
        made = await lathe.corpus.GetSnapshot(cs.GetSnapshotRequest(name=made.name))
    if made.state != S.STATE_READY:
        raise RuntimeError(f"snapshot {made.name} failed: {made.error.message}")
    return made


async def _train(lathe: Lathe, job: Job) -> Job:
    from lathe.cli.trainer import follow
    from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub

    created = await lathe.trainer.CreateTrainingJob(tpb.CreateTrainingJobRequest(
        training_job=job, request_id=str(uuid.uuid4())))
    console.print(f"[bold]{job.display_name}[/bold]: {created.name}")
    done = await follow(TrainerServiceStub(lathe.channel("trainer")), created.name)
    if done.state != Job.STATE_SUCCEEDED:
        raise _JobFailed(f"{created.name} ended {Job.State.Name(done.state)}: {done.error.message}")
    deadline = time.monotonic() + 60
    while not done.model_version:  # registration goes through the trainer's outbox
        if time.monotonic() > deadline:
            raise RuntimeError(f"{created.name} succeeded but its version was not registered within 60 s")
        await asyncio.sleep(0.3)
        done = await lathe.trainer.GetTrainingJob(tpb.GetTrainingJobRequest(name=created.name))
    return done


class _JobFailed(RuntimeError):
    pass


async def _deploy(lathe: Lathe, deployment_id: str, version: str, probe: str) -> D:
    d = await lathe.deployer.CreateDeployment(ds.CreateDeploymentRequest(
        deployment_id=deployment_id, request_id=str(uuid.uuid4()),
        deployment=D(model_version=version, target=D.TARGET_LOCAL,
                     health_check_config=health_check_pb2.HealthCheckConfig(probe_text=probe))))
    while d.state not in (D.STATE_SERVING, D.STATE_FAILED, D.STATE_ROLLED_BACK):
        await asyncio.sleep(0.3)
        d = await lathe.deployer.GetDeployment(ds.GetDeploymentRequest(name=d.name))
    if d.state != D.STATE_SERVING:
        raise RuntimeError(f"{d.name} did not come up: {d.error.message}")
    console.print(f"deployed {d.resolved_model_version} as {d.name}: SERVING at {d.endpoint.address} "
                  f"(model {d.endpoint.model_name})")
    return d


def _compare_table(title: str, job: Job, keys: list[str]) -> tuple[Table, dict[str, dict[str, float]]]:
    table = Table("metric", "trained", "baseline", "better?", title=title, title_justify="left")
    out = {}
    for key in keys:
        value, base = job.latest_metrics.get(key), job.baseline_metrics.get(key)
        if value is None or base is None:
            continue
        lower = "loss" in key or "perplexity" in key
        wins = value < base if lower else value > base
        table.add_row(key, f"{value:.4f}", f"{base:.4f}", "[green]yes[/]" if wins else "[red]no[/]")
        out[key] = {"trained": value, "baseline": base, "better": wins}
    return table, out


def _stackfaq_question(path: Path, threads_used: int = 40, thread: int = 3) -> tuple[str, list[str], list[int]]:
    """A paraphrased question of one StackFAQ thread, the answers of the first ``threads_used`` threads as
    candidates, and the indices of the right thread's answers among them."""
    threads = json.loads(path.read_text())["root"]["qapair"][:threads_used]
    answers, right = [], []
    for i, item in enumerate(threads):
        for answer in item["answer"] if isinstance(item["answer"], list) else [item["answer"]]:
            if i == thread:
                right.append(len(answers))
            answers.append(answer)
    question = next(q for q in reversed(threads[thread]["rephr"]) if q and q != "*")
    return question, answers, right


async def journey(lathe: Lathe, home: Home, imports: Path, *, lm_steps: int, finetune_steps: int) -> dict[str, Any]:
    """Every step after the suite is up; returns the summary written to ``<home>/demo/summary.json``."""
    out = home.root / "demo"
    out.mkdir(parents=True, exist_ok=True)
    console.rule("1. data")
    await _import(lathe, imports)
    text = await _snapshot(lathe, S(display_name="demo text", filter="type = TEXT",
                                    split_config=snapshot_pb2.SplitConfig(
        text_strategy=snapshot_pb2.TEXT_SPLIT_STRATEGY_TAIL, validation_fraction=0.1)))
    qa = await _snapshot(lathe, S(display_name="demo faq", filter=QA_SUBSET, split_config=snapshot_pb2.SplitConfig(
        qa_strategy=snapshot_pb2.QA_SPLIT_STRATEGY_BY_QUESTION, validation_fraction=0.15, seed=3)))
    console.print(f"snapshots: {text.name} (text, {text.counts.train.character_count:,} train characters), "
                  f"{qa.name} (Q-A, {qa.counts.validation.question_count} held-out questions)")

    console.rule("2. training (live)")
    ngram = await _train(lathe, ngram_job(text.name))
    lm = await _train(lathe, causal_lm_job(text.name, lm_steps))
    emb = await _train(lathe, finetune_job(qa.name, finetune_steps))

    console.rule("3. versions against their baselines")
    lm_table, lm_cmp = _compare_table(f"{lm.model_version} vs its n-gram baseline", lm,
                                      ["validation/loss", "validation/perplexity"])
    emb_table, emb_cmp = _compare_table(f"{emb.model_version} vs un-tuned all-MiniLM-L6-v2", emb,
                                        ["validation/recall@1", "validation/recall@5", "validation/recall@10",
                                         "validation/mrr"])
    console.print(lm_table)
    console.print(emb_table)
    compared = await lathe.registry.CompareModelVersions(rs.CompareModelVersionsRequest(
        names=[ngram.model_version, lm.model_version]))
    ngram_loss = ngram.latest_metrics.get("validation/loss")
    console.print(f"registry: {ngram.model_version} (bigram) validation loss {ngram_loss:.4f}, "
                  f"{lm.model_version} {lm.latest_metrics['validation/loss']:.4f}")
    charts = {"causal_lm_loss": str(out / "causal-lm-loss.png"), "compare": str(out / "compare-lm.svg")}
    series = await job_series(lathe, lm.name)
    loss_chart(f"{lm.name} (causal-lm)", series["train"], series["validation"], series["baseline"],
               Path(charts["causal_lm_loss"]), "n-gram baseline")
    compare_chart(compared, Path(charts["compare"]))

    console.rule("4. deploy and ask")
    await _deploy(lathe, "demo-faq", emb.model_version, "How do I strike through text?")
    await _deploy(lathe, "demo-lm", lm.model_version, "ROMEO:")
    question, answers, right = _stackfaq_question(imports / "stackfaq.json")
    vectors = await lathe.embed("demo-faq", [question, *answers])
    scores = vectors[1:] @ vectors[0] / (np.linalg.norm(vectors[1:], axis=1) * np.linalg.norm(vectors[0]) + 1e-9)
    best = int(np.argmax(scores))
    console.print(f"[bold]Q:[/bold] {question}\n[bold]A:[/bold] {answers[best][:300]}")
    sample = (await lathe.generate("demo-lm", ["ROMEO:\n"], max_tokens=160, temperature=0.8, seed=1))[0]
    console.print(f"[bold]sample from demo-lm:[/bold]\nROMEO:\n{sample}")

    summary = {
        "home": str(home.root), "snapshots": {"text": text.name, "qa": qa.name},
        "jobs": {"ngram": ngram.name, "causal_lm": lm.name, "embedding": emb.name},
        "versions": {"ngram": ngram.model_version, "causal_lm": lm.model_version, "embedding": emb.model_version},
        "causal_lm": lm_cmp, "embedding": emb_cmp, "ngram_validation_loss": ngram_loss,
        "deployments": ["deployments/demo-faq", "deployments/demo-lm"],
        "answer": {"question": question, "answer": answers[best], "score": float(scores[best]),
                   "rank_of_right_thread": 1 + int(np.sum(scores > max(scores[r] for r in right)))},
        "sample": sample, "charts": charts,
        "stats": await collect(lathe),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def demo(
    home: HomeOption = None,
    datasets: Annotated[Path, typer.Option("--datasets", help="Folder holding tinyshakespeare.txt and stackfaq.json "
                                           "($LATHE_DATASETS).")] = DATASETS,
    database_url: Annotated[str | None, typer.Option(envvar="LATHE_DATABASE_URL",
                                                     help="PostgreSQL URL; default SQLite in the home.")] = None,
    port_base: Annotated[int, typer.Option(help="First service port; 0 picks a free block.")] = 0,
    lm_steps: Annotated[int, typer.Option(help="Optimizer steps of the causal-lm.")] = 300,
    finetune_steps: Annotated[int, typer.Option(help="Optimizer steps of the embedding fine-tune.")] = 24,
) -> None:
    """Run the whole journey: data → training → registry → deployment → inference, then stop."""
    started = time.monotonic()
    sources = {name: datasets / name for name in ("tinyshakespeare.txt", "stackfaq.json")}
    missing = [str(p) for p in sources.values() if not p.is_file()]
    if missing:
        err.print(f"[red]--datasets: missing {', '.join(missing)} (see the README for where to get them)[/red]")
        raise typer.Exit(EXIT_USAGE)
    suite_home = resolve_home(home)
    suite_home.ensure()
    imports = suite_home.root / "imports"  # the corpus service's default import root
    imports.mkdir(exist_ok=True)
    for name, source in sources.items():
        if not (imports / name).exists() or (imports / name).stat().st_size != source.stat().st_size:
            shutil.copyfile(source, imports / name)
    # Small-machine settings for the services this command starts.
    os.environ.setdefault("LATHE_TRAINER_DEVICES", "cpu")
    os.environ.setdefault("LATHE_TRAINER_CPU_THREADS", str(min(4, os.cpu_count() or 2)))
    os.environ.setdefault("LATHE_TRAINER_OUTBOX_POLL_SECONDS", "0.2")
    os.environ.setdefault("LATHE_CORPUS_IMPORT_POLL_SECONDS", "0.2")
    os.environ.setdefault("LATHE_CORPUS_EMBED_ON_IMPORT", "false")
    for service in SERVICES:
        os.environ.pop(f"LATHE_{service.upper()}_ADDRESS", None)
    suite = Suite(suite_home, host="127.0.0.1", port_base=port_base or _free_port_base("127.0.0.1"),
                  database_url=database_url)
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    code = 0
    try:
        suite.start()
        console.print(f"starting Lathe from [bold]{suite_home.root}[/bold] "
                      f"({'PostgreSQL' if database_url else 'SQLite'}) …")
        suite.wait_healthy(180, on_ready=lambda s: console.print(f"  {s:<9} [green]SERVING[/green] "
                                                                 f"{suite.address(s)}"))

        async def action() -> dict[str, Any]:
            async with Lathe(addresses={s: suite.address(s) for s in SERVICES}, token=suite_home.admin_token(),
                             home=suite_home, timeout=120) as lathe:
                return await journey(lathe, suite_home, imports, lm_steps=lm_steps, finetune_steps=finetune_steps)

        summary = run(action)
        console.rule("where everything is")
        table = Table(show_header=False)
        for key, value in (("home", suite_home.root), ("SQLite files / database", database_url or suite_home.root),
                           ("artifacts", suite_home.artifacts), ("logs", suite_home.logs),
                           ("admin token", suite_home.admin_token_file),
                           ("loss chart", summary["charts"]["causal_lm_loss"]),
                           ("comparison chart", summary["charts"]["compare"]),
                           ("summary", suite_home.root / "demo" / "summary.json"),
                           *((f"version ({k})", v) for k, v in summary["versions"].items()),
                           *(("deployment", d) for d in summary["deployments"])):
            table.add_row(key, str(value))
        console.print(table)
        console.print(f"again with the suite running: [bold]lathe up --home {suite_home.root}[/bold], then "
                      "lathe stats / lathe models / lathe infer demo-lm 'ROMEO:'")
    except _JobFailed as exc:
        err.print(f"[red]{exc}[/red]")
        code = EXIT_JOB_FAILED
    except (RuntimeError, OSError, ValueError) as exc:
        err.print(f"[red]{type(exc).__name__}: {exc}[/red]")
        code = EXIT_FAILED
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]")
        code = 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        codes = suite.stop()
        console.print("stopped: " + ", ".join(f"{s} ({c})" for s, c in codes.items()) +
                      f" after {time.monotonic() - started:.0f} s")
    if code:
        raise typer.Exit(code)
