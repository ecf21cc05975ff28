"""``lathe train``, ``lathe jobs`` and ``lathe job show/cancel/logs``: training jobs from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from google.protobuf import json_format
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lathe.cli.connect import EXIT_JOB_FAILED, HomeOption, channel_to, resolve_home, run
from lathe.trainer.v1 import trainer_service_pb2 as tpb
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2
from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub

console = Console()
TrainingJob = training_job_pb2.TrainingJob
State = TrainingJob.State
RECIPES = {"causal-lm": cfg.RECIPE_CAUSAL_LM, "ngram-lm": cfg.RECIPE_NGRAM_LM,
           "embedding-finetune": cfg.RECIPE_EMBEDDING_FINETUNE, "projection-heads": cfg.RECIPE_PROJECTION_HEADS}
job_app = typer.Typer(help="One training job: show, cancel, logs.", no_args_is_help=True)


def _name(job: str) -> str:
    return job if job.startswith("trainingJobs/") else f"trainingJobs/{job}"


async def follow(stub: TrainerServiceStub, name: str) -> TrainingJob:
    """Show a live progress bar (step, loss, tokens/s, ETA) from WatchTrainingEvents until the job ends."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("step {task.completed:.0f}/{task.total:.0f}"),
                  TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task(name, total=1, info="queued")
        async for response in stub.WatchTrainingEvents(tpb.WatchTrainingEventsRequest(parent=name)):
            if response.WhichOneof("kind") != "event":
                continue
            event = response.event
            kind = event.WhichOneof("payload")
            if kind == "job_started":
                progress.update(task, total=max(event.job_started.total_steps, 1), info="running")
            elif kind == "step_metrics":
                m = event.step_metrics
                progress.update(task, completed=m.step,
                                info=f"loss {m.loss:.4f}  {m.tokens_per_second:,.0f} tok/s")
            elif kind == "evaluation":
                progress.console.print(f"step {event.evaluation.step}: validation loss "
                                       f"{event.evaluation.metrics.get('loss', float('nan')):.4f}")
            elif kind == "worker_restarted":
                progress.console.print(f"[yellow]worker restarted from step {event.worker_restarted.resume_from_step}")
    return await stub.GetTrainingJob(tpb.GetTrainingJobRequest(name=name))


def train(
    snapshot: Annotated[str | None, typer.Option("--snapshot", help="snapshots/{id}; default: latest corpus.")] = None,
    recipe: Annotated[str, typer.Option("--recipe", help="causal-lm or ngram-lm.")] = "causal-lm",
    steps: Annotated[int, typer.Option("--steps", help="Optimizer steps (0: the recipe's default).")] = 0,
    learning_rate: Annotated[float, typer.Option("--lr")] = 0.0,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 0,
    block_size: Annotated[int, typer.Option("--block-size")] = 0,
    layers: Annotated[int, typer.Option("--layers")] = 0,
    parent: Annotated[str | None, typer.Option("--parent", help="Continue from models/{m}/versions/{v}.")] = None,
    follow_job: Annotated[bool, typer.Option("--follow", help="Show live progress until the job ends.")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="A YAML job spec (see examples/); the other "
                                                "options are then ignored.")] = None,
    check: Annotated[bool, typer.Option("--check", help="With --config: only validate the spec.")] = False,
    home: HomeOption = None,
) -> None:
    """Create a training job (and optionally follow it live), from options or a YAML spec (--config)."""
    if config is not None:
        from lathe.cli.jobspec import run_config

        run_config(config, follow_job=follow_job, home=home, check_only=check)
        return
    if recipe not in RECIPES:
        console.print(f"[red]--recipe: unknown recipe {recipe!r}; one of {', '.join(RECIPES)}")
        raise typer.Exit(2)
    job = TrainingJob(recipe=RECIPES[recipe], parent_model_version=parent or "")
    if snapshot:
        job.data_source.snapshot = snapshot if snapshot.startswith("snapshots/") else f"snapshots/{snapshot}"
    else:
        job.data_source.latest_corpus.SetInParent()
    if steps:
        job.options.max_steps = steps
    job.options.learning_rate = learning_rate
    job.options.batch_size = batch_size
    if recipe == "causal-lm":
        job.causal_lm.block_size = block_size
        job.causal_lm.layers = layers

    async def action() -> TrainingJob:
        async with channel_to("trainer", resolve_home(home)) as channel:
            stub = TrainerServiceStub(channel)
            created = await stub.CreateTrainingJob(tpb.CreateTrainingJobRequest(training_job=job))
            console.print(f"created {created.name} on {created.snapshot}")
            return await follow(stub, created.name) if follow_job else created

    result = run(action)
    if follow_job:
        _print_job(result)
        if result.state != State.STATE_SUCCEEDED:
            raise typer.Exit(EXIT_JOB_FAILED)


def _print_job(job: TrainingJob) -> None:
    table = Table(show_header=False)
    for key, value in (("name", job.name), ("state", State.Name(job.state).removeprefix("STATE_")),
                       ("recipe", cfg.Recipe.Name(job.recipe)), ("owner", job.owner), ("snapshot", job.snapshot),
                       ("step", f"{job.step}/{job.total_steps}"), ("model version", job.model_version or "-"),
                       ("error", job.error.message or "-")):
        table.add_row(key, str(value))
    for key, value in sorted(job.latest_metrics.items()):
        table.add_row(key, f"{value:.4f}")
    for key, value in sorted(job.baseline_metrics.items()):
        table.add_row(f"baseline {key}", f"{value:.4f}")
    console.print(table)


def jobs(
    state: Annotated[str | None, typer.Option("--state", help="Only jobs in this state, e.g. RUNNING.")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    home: HomeOption = None,
) -> None:
    """List training jobs, newest first."""
    async def action() -> list[TrainingJob]:
        async with channel_to("trainer", resolve_home(home)) as channel:
            response = await TrainerServiceStub(channel).ListTrainingJobs(tpb.ListTrainingJobsRequest(
                page_size=limit, filter=f"state = {state}" if state else ""))
            return list(response.training_jobs)

    found = run(action)
    if as_json:
        print(json.dumps([json_format.MessageToDict(j, preserving_proto_field_name=True) for j in found], indent=2))
        return
    table = Table("job", "state", "recipe", "owner", "step", "val loss", "model version")
    for job in found:
        table.add_row(job.name, State.Name(job.state).removeprefix("STATE_"), cfg.Recipe.Name(job.recipe),
                      job.owner, f"{job.step}/{job.total_steps}",
                      f"{job.latest_metrics.get('validation/loss', float('nan')):.4f}",
                      job.model_version or "-")
    console.print(table)


@job_app.command("show")
def show(job: str, home: HomeOption = None) -> None:
    """Show one job."""
    async def action() -> TrainingJob:
        async with channel_to("trainer", resolve_home(home)) as channel:
            return await TrainerServiceStub(channel).GetTrainingJob(tpb.GetTrainingJobRequest(name=_name(job)))

    _print_job(run(action))


@job_app.command("cancel")
def cancel(job: str, home: HomeOption = None) -> None:
    """Cancel a queued or running job."""
    async def action() -> TrainingJob:
        async with channel_to("trainer", resolve_home(home)) as channel:
            stub = TrainerServiceStub(channel)
            return await stub.CancelTrainingJob(tpb.CancelTrainingJobRequest(name=_name(job)))

    console.print(f"{_name(job)}: {State.Name(run(action).state).removeprefix('STATE_')}")


@job_app.command("logs")
def logs(job: str, follow_log: Annotated[bool, typer.Option("--follow")] = False, home: HomeOption = None) -> None:
    """Print the job's event log (and follow it live with --follow)."""
    async def action() -> None:
        async with channel_to("trainer", resolve_home(home)) as channel:
            stub = TrainerServiceStub(channel)
            if follow_log:
                async for response in stub.WatchTrainingEvents(tpb.WatchTrainingEventsRequest(parent=_name(job))):
                    if response.WhichOneof("kind") == "event":
                        _print_event(response.event)
                return
            token = ""
            while True:
                page = await stub.ListTrainingEvents(tpb.ListTrainingEventsRequest(
                    parent=_name(job), page_size=500, page_token=token))
                for event in page.events:
                    _print_event(event)
                token = page.next_page_token
                if not token:
                    return

    run(action)


def _print_event(event: object) -> None:
    kind = event.WhichOneof("payload")  # type: ignore[attr-defined]
    payload = json_format.MessageToDict(getattr(event, kind), preserving_proto_field_name=True)
    console.print(f"{event.sequence:>6} {event.event_time.ToDatetime():%H:%M:%S} {kind}: {payload}")  # type: ignore[attr-defined]


trainer_app = typer.Typer(help="Training jobs.")
trainer_app.command("train")(train)
trainer_app.command("jobs")(jobs)
trainer_app.add_typer(job_app, name="job")
