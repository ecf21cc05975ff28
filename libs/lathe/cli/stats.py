"""``lathe stats``: one view of the platform, gathered from the five services (``--json`` for scripts)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lathe.cli.connect import EXIT_UNAVAILABLE, HomeOption, resolve_home
from lathe.client import Lathe, LatheError
from lathe.corpus.v1 import corpus_service_pb2 as cs
from lathe.deployer.v1 import deployment_pb2
from lathe.history.v1 import history_service_pb2 as hs
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2

console = Console()
err = Console(stderr=True)
JobState = training_job_pb2.TrainingJob.State
D = deployment_pb2.Deployment
# Metric names whose smaller value is better; every other metric (mrr, recall@k, accuracy …) is maximised.
_MINIMISED = ("loss", "perplexity", "error", "bits_per")


def better(key: str) -> str:
    """``min`` for losses and perplexities, ``max`` for everything else."""
    return "min" if any(part in key.rsplit("/", 1)[-1] for part in _MINIMISED) else "max"


async def _corpus(lathe: Lathe) -> dict[str, Any]:
    s = await lathe.corpus.GetCorpusStats(cs.GetCorpusStatsRequest())
    return {"texts": s.text_count, "words": s.word_count, "characters": s.character_count,
            "synthetic_texts": s.synthetic_text_count, "qa_clusters": s.qa_cluster_count,
            "answers": s.answer_count, "questions": s.question_count, "snapshots": s.snapshot_count,
            "latest_snapshot": s.latest_snapshot}


async def _trainer(lathe: Lathe) -> dict[str, Any]:
    by_state: Counter[str] = Counter()
    by_recipe: Counter[str] = Counter()
    checkpoints: list[dict[str, Any]] = []
    async for job in lathe.iter_jobs(page_size=200):
        by_state[JobState.Name(job.state).removeprefix("STATE_")] += 1
        by_recipe[cfg.Recipe.Name(job.recipe).removeprefix("RECIPE_").lower().replace("_", "-")] += 1
        for c in job.checkpoints:
            checkpoints.append({"name": c.name, "step": c.step, "is_best": c.is_best, "size_bytes": c.size_bytes,
                                "create_time": c.create_time.ToDatetime().isoformat() + "Z"})
    checkpoints.sort(key=lambda c: c["create_time"], reverse=True)
    return {"jobs": sum(by_state.values()), "jobs_by_state": dict(sorted(by_state.items())),
            "jobs_by_recipe": dict(sorted(by_recipe.items())),
            "checkpoints": {"total": len(checkpoints), "best": sum(c["is_best"] for c in checkpoints),
                            "bytes": sum(c["size_bytes"] for c in checkpoints), "recent": checkpoints[:5]}}


async def _registry(lathe: Lathe) -> dict[str, Any]:
    models = []
    versions_total = 0
    async for model in lathe.iter_models(page_size=200):
        versions = [v async for v in lathe.iter_versions(model.name, page_size=200)]
        versions_total += len(versions)
        best: dict[str, dict[str, Any]] = {}
        for v in versions:
            for m in v.metrics:
                goal = better(m.key)
                current = best.get(m.key)
                if current is None or (m.value < current["value"] if goal == "min" else m.value > current["value"]):
                    best[m.key] = {"value": m.value, "version": v.name, "goal": goal}
        models.append({"name": model.name, "versions": len(versions),
                       "aliases": {a.alias: a.version for a in model.aliases},
                       "recipes": sorted({v.recipe for v in versions if v.recipe}), "best_metrics": best})
    return {"models": len(models), "versions": versions_total, "by_model": models}


async def _deployer(lathe: Lathe) -> dict[str, Any]:
    out = []
    async for d in lathe.iter_deployments(page_size=200):
        out.append({"name": d.name, "state": D.State.Name(d.state).removeprefix("STATE_"),
                    "target": D.Target.Name(d.target).removeprefix("TARGET_").lower(),
                    "model_version": d.resolved_model_version or d.model_version,
                    "health": type(d.health).Outcome.Name(d.health.outcome).removeprefix("OUTCOME_")
                    if d.HasField("health") else "UNKNOWN",
                    "health_message": d.health.message, "endpoint": d.endpoint.address})
    states = Counter(d["state"] for d in out)
    return {"deployments": len(out), "by_state": dict(sorted(states.items())),
            "healthy": sum(d["health"] == "PASSED" for d in out), "items": out}


async def _history(lathe: Lathe) -> dict[str, Any]:
    s = await lathe.history.GetStats(hs.GetStatsRequest())
    return {"sessions": s.total_sessions, "succeeded": s.succeeded_sessions, "failed": s.failed_sessions,
            "cancelled": s.cancelled_sessions, "avg_quality": s.avg_quality,
            "quality_sessions": s.quality_session_count,
            "training_seconds": s.total_training_time.ToTimedelta().total_seconds(),
            "by_recipe": {r.recipe: {"sessions": r.usage.session_count,
                                     "seconds": r.usage.compute_time.ToTimedelta().total_seconds()}
                          for r in s.compute_by_recipe}}


async def collect(lathe: Lathe) -> dict[str, Any]:
    """Every section, gathered concurrently; a section whose service failed holds ``{"error": …}``."""
    sections = {"corpus": _corpus, "trainer": _trainer, "registry": _registry, "deployer": _deployer,
                "history": _history}

    async def guarded(name: str) -> dict[str, Any]:
        try:
            return await sections[name](lathe)
        except LatheError as exc:
            return {"error": {"code": exc.code.name, "message": exc.message}}

    results = await asyncio.gather(*(guarded(name) for name in sections))
    return dict(zip(sections, results, strict=True))


def _table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in rows:
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    return table


def stats(home: HomeOption = None,
          as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False) -> None:
    """Corpus totals, jobs by state, checkpoints, model versions and their best metrics, deployments, history."""
    async def action() -> dict[str, Any]:
        async with Lathe(home=resolve_home(home)) as lathe:
            return await collect(lathe)

    result = asyncio.run(action())
    failed = {name: section["error"] for name, section in result.items() if "error" in section}
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        _print(result)
    for name, error in failed.items():
        err.print(f"[red]{name}: {error['code']}: {error['message']}[/red]")
    if failed:
        raise typer.Exit(EXIT_UNAVAILABLE if any(e["code"] in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
                                                 for e in failed.values()) else 1)


def _print(result: dict[str, Any]) -> None:
    corpus, trainer, registry = result["corpus"], result["trainer"], result["registry"]
    deployer, history = result["deployer"], result["history"]
    if "error" not in corpus:
        console.print(_table("corpus", [(k.replace("_", " "), v) for k, v in corpus.items()]))
    if "error" not in trainer:
        rows = [("jobs", trainer["jobs"]), *((f"  {k.lower()}", v) for k, v in trainer["jobs_by_state"].items()),
                ("checkpoints", trainer["checkpoints"]["total"]), ("  best", trainer["checkpoints"]["best"]),
                ("  bytes", trainer["checkpoints"]["bytes"])]
        rows += [("  recent", f"{c['name']} (step {c['step']})") for c in trainer["checkpoints"]["recent"][:3]]
        console.print(_table("trainer", rows))
    if "error" not in registry:
        table = Table("model", "versions", "aliases", "best metrics", title="registry", title_justify="left")
        for m in registry["by_model"]:
            best = ", ".join(f"{k}={b['value']:.4g} (v{b['version'].rsplit('/', 1)[-1]})"
                             for k, b in sorted(m["best_metrics"].items()) if not k.startswith("baseline/"))
            table.add_row(m["name"].removeprefix("models/"), str(m["versions"]), ", ".join(m["aliases"]), best)
        console.print(table)
    if "error" not in deployer:
        table = Table("deployment", "target", "state", "health", "version", title="deployer", title_justify="left")
        for d in deployer["items"]:
            table.add_row(d["name"].removeprefix("deployments/"), d["target"], d["state"], d["health"],
                          d["model_version"])
        console.print(table)
    if "error" not in history:
        rows = [("sessions", history["sessions"]), ("  succeeded", history["succeeded"]),
                ("  failed", history["failed"]), ("  cancelled", history["cancelled"]),
                ("training time", f"{history['training_seconds']:.0f} s"),
                ("avg quality", f"{history['avg_quality']:.3f}")]
        rows += [(f"  {r}", f"{u['sessions']} sessions, {u['seconds']:.0f} s") for r, u in history["by_recipe"].items()]
        console.print(_table("history", rows))
