"""``lathe corpus``: add texts, import folders (with a progress bar), list and retry batches, stats, snapshots."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lathe.cli.connect import EXIT_FAILED, EXIT_USAGE, JsonOption, channel_to, print_json, run
from lathe.corpus.v1 import corpus_service_pb2 as pb
from lathe.corpus.v1 import import_batch_pb2, snapshot_pb2, text_pb2
from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub
from lathe.kit.home import Home

corpus_app = typer.Typer(help="Training data: texts, Q-A clusters, imports, embeddings and snapshots.",
                         no_args_is_help=True)
console = Console()
err = Console(stderr=True)
Batch = import_batch_pb2.ImportBatch
DONE = {Batch.STATE_COMPLETED, Batch.STATE_FAILED}

# The same option as lathe.cli.app.HomeOption (not imported: app imports this module).
HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Suite home folder (default: $LATHE_HOME or ./.lathe).", show_default=False),
]


def _home(home: Path | None) -> Home:
    root = home or Path(os.environ.get("LATHE_HOME") or Path.cwd() / ".lathe")
    return Home(root.expanduser().resolve())


def _state(state: int) -> str:
    name = Batch.State.Name(state).removeprefix("STATE_").lower()
    colour = {"completed": "green", "failed": "red"}.get(name, "yellow")
    return f"[{colour}]{name}[/]"


@corpus_app.command("add")
def add(files: Annotated[list[Path], typer.Argument(help="UTF-8 text files, each added as one text.")],
        source: Annotated[str, typer.Option(help="Source label; default: the file path.")] = "",
        home: HomeOption = None) -> None:
    """Add files as texts; an identical text already in the corpus is reported, not stored twice."""
    texts = []
    for path in files:
        if not path.is_file():
            err.print(f"[red]{path} is not a file[/red]")
            raise typer.Exit(EXIT_USAGE)
        texts.append(text_pb2.Text(title=path.name, content_bytes=path.read_bytes(), source=source or str(path)))

    async def action() -> None:
        async with channel_to("corpus", _home(home)) as channel:
            stub = CorpusServiceStub(channel)
            table = Table("file", "text", "outcome", "words", "characters")
            for start in range(0, len(texts), 1000):
                response = await stub.AddTexts(pb.AddTextsRequest(texts=texts[start:start + 1000]))
                for result in response.results:
                    outcome = "created" if result.outcome == pb.ADD_OUTCOME_CREATED else "already stored"
                    table.add_row(str(files[start + result.index]), result.text.name, outcome,
                                  str(result.text.word_count), str(result.text.character_count))
            console.print(table)

    run(action)


async def _follow(stub: CorpusServiceStub, names: list[str]) -> list[Batch]:
    """Poll the batches with a progress bar until every one is completed or failed."""
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("importing", total=len(names))
        while True:
            batches = [await stub.GetImportBatch(pb.GetImportBatchRequest(name=n)) for n in names]
            done = sum(1 for b in batches if b.state in DONE)
            embedded = sum(b.results.embeddings_created for b in batches)
            total = sum(b.results.embeddings_total for b in batches)
            label = f"importing ({embedded}/{total} embeddings)" if total else "importing"
            progress.update(task, completed=done, description=label)
            if done == len(names):
                return batches
            await asyncio.sleep(0.5)


@corpus_app.command("import")
def import_files(
    directory: Annotated[str, typer.Argument(help="Folder inside an import root (absolute, or relative to it).")],
    glob: Annotated[str, typer.Option(help="Files to consider, relative to the folder.")] = "**/*",
    watch: Annotated[bool, typer.Option("--watch", help="Follow the batches with a progress bar until done.")] = False,
    home: HomeOption = None,
) -> None:
    """Scan a folder: new and changed files become import batches; unchanged files are skipped."""
    async def action() -> None:
        async with channel_to("corpus", _home(home)) as channel:
            stub = CorpusServiceStub(channel)
            response = await stub.ImportFiles(pb.ImportFilesRequest(root=directory, glob=glob))
            console.print(f"matched {response.matched_file_count} files: {response.new_file_count} new, "
                          f"{response.changed_file_count} changed, {response.unchanged_file_count} unchanged, "
                          f"{response.in_progress_file_count} in progress, {response.unsupported_file_count} "
                          f"unsupported (scan {response.scan_duration.ToTimedelta().total_seconds():.2f}s)")
            if not response.import_batches:
                console.print("nothing to import")
                return
            console.print(f"{len(response.import_batches)} batches queued (scan {response.scan_id})")
            if watch:
                batches = await _follow(stub, list(response.import_batches))
                failed = [b for b in batches if b.state == Batch.STATE_FAILED]
                for b in failed:
                    err.print(f"[red]failed[/red] {b.path}:{b.failure.line} {b.failure.reason}")
                if failed:
                    raise typer.Exit(EXIT_FAILED)

    run(action)


@corpus_app.command("batches")
def batches(state: Annotated[str, typer.Option(help="Only batches in this state (pending, failed …).")] = "",
            limit: Annotated[int, typer.Option(help="Most batches to show.")] = 50,
            home: HomeOption = None, as_json: JsonOption = False) -> None:
    """List import batches, newest first."""
    async def action() -> None:
        async with channel_to("corpus", _home(home)) as channel:
            stub = CorpusServiceStub(channel)
            response = await stub.ListImportBatches(pb.ListImportBatchesRequest(
                page_size=limit, filter=f"state = {state.upper()}" if state else ""))
            if as_json:
                print_json(list(response.import_batches))
                return
            table = Table("batch", "path", "state", "items", "attempts", "error")
            for b in response.import_batches:
                error = f"line {b.failure.line}: {b.failure.reason}" if b.HasField("failure") else ""
                table.add_row(b.name.split("/")[-1], b.path, _state(b.state), str(b.results.item_count),
                              str(b.attempt_count), error)
            console.print(table)

    run(action)


@corpus_app.command("retry")
def retry(names: Annotated[list[str] | None, typer.Argument(help="Batches to retry; default: every failed one.")]
          = None, watch: Annotated[bool, typer.Option("--watch", help="Follow the retried batches.")] = False,
          home: HomeOption = None) -> None:
    """Re-queue failed import batches (they re-read their file's current content)."""
    full = [n if n.startswith("importBatches/") else f"importBatches/{n}" for n in names or []]

    async def action() -> None:
        async with channel_to("corpus", _home(home)) as channel:
            stub = CorpusServiceStub(channel)
            response = await stub.RetryFailedBatches(pb.RetryFailedBatchesRequest(names=full))
            console.print(f"re-queued {len(response.import_batches)} batches")
            if watch and response.import_batches:
                await _follow(stub, list(response.import_batches))

    run(action)


@corpus_app.command("stats")
def stats(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Show the corpus's counts."""
    async def action() -> None:
        async with channel_to("corpus", _home(home)) as channel:
            s = await CorpusServiceStub(channel).GetCorpusStats(pb.GetCorpusStatsRequest())
        if as_json:
            print_json(s)
            return
        table = Table("measure", "value")
        for label, value in (("texts", s.text_count), ("words", s.word_count), ("characters", s.character_count),
                             ("synthetic texts", s.synthetic_text_count), ("Q-A clusters", s.qa_cluster_count),
                             ("answers", s.answer_count), ("questions", s.question_count),
                             ("synthetic questions", s.synthetic_question_count), ("snapshots", s.snapshot_count)):
            table.add_row(label, f"{value:,}")
        for c in s.import_batch_counts:
            table.add_row(f"batches {_state(c.state)}", f"{c.count:,}")
        for e in s.embedding_counts:
            table.add_row(f"embeddings {e.model.split('/')[-1]}",
                          f"{e.text_count + e.answer_count + e.question_count:,}")
        table.add_row("latest snapshot", s.latest_snapshot or "-")
        console.print(table)

    run(action)


@corpus_app.command("snapshot")
def snapshot(
    filter_: Annotated[str, typer.Option("--filter", help='Items to include, e.g. "origin != SYNTHETIC".')] = "",
    seed: Annotated[int, typer.Option(help="Seed of the train/validation split.")] = 0,
    validation: Annotated[float, typer.Option(help="Held-out validation fraction.")] = 0.1,
    by_cluster: Annotated[bool, typer.Option("--by-cluster", help="Hold out whole Q-A clusters.")] = False,
    embed: Annotated[bool, typer.Option("--embed", help="Embed every member with the default model.")] = False,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    home: HomeOption = None,
) -> None:
    """Freeze the corpus (or the part the filter selects) into an immutable, content-hashed snapshot."""
    spec = snapshot_pb2.Snapshot(display_name=name, filter=filter_, split_config=snapshot_pb2.SplitConfig(
        seed=seed, validation_fraction=validation,
        qa_strategy=snapshot_pb2.QA_SPLIT_STRATEGY_BY_CLUSTER if by_cluster else 0),
        embedding_models=["embeddingModels/all-minilm-l6-v2"] if embed else [])

    async def action() -> None:
        async with channel_to("corpus", _home(home)) as channel:
            stub = CorpusServiceStub(channel)
            s = await stub.CreateSnapshot(pb.CreateSnapshotRequest(snapshot=spec, reuse_existing=True))
            while s.state == snapshot_pb2.Snapshot.STATE_CREATING:
                await asyncio.sleep(1)
                s = await stub.GetSnapshot(pb.GetSnapshotRequest(name=s.name))
        table = Table("snapshot", s.name)
        table.add_row("state", snapshot_pb2.Snapshot.State.Name(s.state).removeprefix("STATE_").lower())
        table.add_row("content sha256", s.content_sha256)
        table.add_row("members", f"{s.counts.member_count:,}")
        for split in ("train", "validation", "test"):
            c = getattr(s.counts, split)
            table.add_row(split, f"{c.text_count} texts ({c.character_count:,} chars), {c.qa_cluster_count} clusters, "
                                 f"{c.answer_count} answers, {c.question_count} questions")
        console.print(table)

    run(action)
