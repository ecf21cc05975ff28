"""Charts (matplotlib, Agg backend, PNG or SVG): a job's loss curves with its baseline, metric bars per
version, and quality and training time per day. Every plotted series carries an SVG id ``series-…``."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from lathe.cli.connect import EXIT_USAGE, HomeOption, resolve_home, run
from lathe.client import Lathe, job_name

console = Console()
err = Console(stderr=True)
WIDTH, HEIGHT, DPI = 9.0, 5.0, 100  # 900 x 500 pixels
FORMATS = (".png", ".svg")

OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the chart (.png or .svg).")]


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT), dpi=DPI)
    return fig, ax


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format=path.suffix[1:], dpi=DPI)  # no bbox="tight": the size stays WIDTH x HEIGHT
    plt.close(fig)
    return path


def check_output(path: Path) -> Path:
    """Exit with a usage error unless ``path`` ends in .png or .svg."""
    if path.suffix.lower() not in FORMATS:
        err.print(f"[red]--output: {path.name!r} must end in .png or .svg[/red]")
        raise typer.Exit(EXIT_USAGE)
    return path


def loss_chart(title: str, train: list[tuple[int, float]], validation: list[tuple[int, float]],
               baseline: float | None, path: Path, baseline_label: str = "baseline") -> Path:
    """Training and validation loss per step, and the baseline's loss as a horizontal line."""
    fig, ax = _figure()
    if train:
        (line,) = ax.plot(*zip(*train, strict=True), label="train loss", linewidth=1.2)
        line.set_gid("series-train")
    if validation:
        (line,) = ax.plot(*zip(*validation, strict=True), label="validation loss", marker="o", linewidth=1.8)
        line.set_gid("series-validation")
    if baseline is not None:
        line = ax.axhline(baseline, color="grey", linestyle="--", label=f"{baseline_label} ({baseline:.3f})")
        line.set_gid("series-baseline")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def metric_bars(versions: list[str], metrics: dict[str, list[float | None]], path: Path) -> Path:
    """One group of bars per metric, one series of bars per version (SVG ids ``series-<i>-bar-<j>``)."""
    import numpy as np

    fig, ax = _figure()
    keys = list(metrics)
    width = 0.8 / max(1, len(versions))
    x = np.arange(len(keys))
    for i, version in enumerate(versions):
        values = [metrics[k][i] if metrics[k][i] is not None else 0.0 for k in keys]
        bars = ax.bar(x + i * width - 0.4 + width / 2, values, width, label=version)
        for j, patch in enumerate(bars.patches):
            patch.set_gid(f"series-{i}-bar-{j}")
    ax.set_xticks(x, keys, rotation=20, ha="right")
    ax.set_title("metrics per version")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    return _save(fig, path)


def daily_chart(days: list[str], quality: list[float | None], hours: list[float], path: Path) -> Path:
    """Training time per day (bars) and average session quality per day (line, right axis)."""
    fig, ax = _figure()
    bars = ax.bar(days, hours, color="tab:blue", alpha=0.6, label="training time (min)")
    for j, patch in enumerate(bars.patches):
        patch.set_gid(f"series-training-time-bar-{j}")
    ax.set_ylabel("training time (minutes)")
    ax.tick_params(axis="x", rotation=30)
    right = ax.twinx()
    points = [(d, q) for d, q in zip(days, quality, strict=True) if q is not None]
    if points:
        (line,) = right.plot(*zip(*points, strict=True), color="tab:orange", marker="o", label="avg quality")
        line.set_gid("series-quality")
    right.set_ylabel("average quality")
    ax.set_title("training sessions per day")
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], loc="upper left")
    return _save(fig, path)


# --- data from the services ------------------------------------------------------------------------------
async def job_series(lathe: Lathe, job: str) -> dict[str, Any]:
    """A job's train loss per step, validation loss per evaluation, and baseline loss."""
    from lathe.trainer.v1 import trainer_service_pb2 as tpb

    found = await lathe.trainer.GetTrainingJob(tpb.GetTrainingJobRequest(name=job_name(job)))
    train: dict[int, float] = {}
    validation: dict[int, float] = {}
    baseline = None
    async for event in lathe.iter_events(found.name):
        kind = event.WhichOneof("payload")
        if kind == "step_metrics":
            train[event.step_metrics.step] = event.step_metrics.loss  # a restart's replay overwrites
        elif kind == "evaluation" and "loss" in event.evaluation.metrics:
            validation[event.evaluation.step] = event.evaluation.metrics["loss"]
            baseline = event.evaluation.baseline_metrics.get("loss", baseline)
    if baseline is None:
        baseline = found.baseline_metrics.get("validation/loss")
    return {"job": found, "train": sorted(train.items()), "validation": sorted(validation.items()),
            "baseline": baseline}


def plot_job(job: Annotated[str, typer.Argument(help="The job ID or trainingJobs/ID.")],
             output: OutputOption = None, home: HomeOption = None) -> None:
    """Write the job's loss curves (train, validation) with its baseline's loss as a PNG or SVG chart."""
    path = check_output(output or Path(f"{job_name(job).split('/')[1]}-loss.png"))

    async def action() -> dict[str, Any]:
        async with Lathe(home=resolve_home(home)) as lathe:
            return await job_series(lathe, job)

    series = run(action)
    found = series["job"]
    from lathe.trainer.v1 import training_config_pb2 as cfg

    recipe = cfg.Recipe.Name(found.recipe).removeprefix("RECIPE_").lower().replace("_", "-")
    label = "n-gram baseline" if recipe == "causal-lm" else "un-tuned baseline"
    loss_chart(f"{found.name} ({recipe})", series["train"], series["validation"], series["baseline"], path, label)
    console.print(f"wrote {path} ({len(series['train'])} train points, {len(series['validation'])} evaluations)")


def compare_chart(reply: Any, path: Path) -> Path:
    """Metric bars per version from a ``CompareModelVersionsResponse``."""
    versions = [v.name.removeprefix("models/").replace("/versions/", ":") for v in reply.model_versions]
    metrics: dict[str, list[float | None]] = {}
    for row in reply.metrics:
        if row.key.startswith("eval/"):
            continue
        metrics[row.key] = [c.value if c.HasField("value") else None for c in row.values]
    return metric_bars(versions, metrics, path)


async def daily_series(lathe: Lathe, stats: Any) -> tuple[list[str], list[float | None], list[float]]:
    """Days with sessions, the average quality of each, and the training minutes of each."""
    minutes = {d.date: d.usage.compute_time.ToTimedelta().total_seconds() / 60 for d in stats.compute_by_day}
    scores: dict[str, list[float]] = defaultdict(list)
    async for s in lathe.iter_sessions(page_size=500):
        if s.HasField("quality"):
            scores[s.start_time.ToDatetime().date().isoformat()].append(s.quality.avg_score)
    days = sorted(set(minutes) | set(scores))
    return (days, [sum(scores[d]) / len(scores[d]) if scores.get(d) else None for d in days],
            [minutes.get(d, 0.0) for d in days])


def plot_history(stats: Any, path: Path, home: Path | None) -> None:
    """Write the per-day chart of ``lathe history stats --plot``."""
    async def action() -> tuple[list[str], list[float | None], list[float]]:
        async with Lathe(home=resolve_home(home)) as lathe:
            return await daily_series(lathe, stats)

    days, quality, minutes = run(action)
    daily_chart(days, quality, minutes, path)
    console.print(f"wrote {path} ({len(days)} days)")


__all__ = ["compare_chart", "daily_chart", "loss_chart", "metric_bars", "plot_history", "plot_job"]
