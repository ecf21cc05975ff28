"""``lathe history``: the training-session audit trail as a table, one session's details, stats cards, exports."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from google.protobuf import json_format
from rich.columns import Columns
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from lathe.cli.connect import EXIT_USAGE, HomeOption, JsonOption, channel_to, print_json, resolve_home, run
from lathe.history.v1 import history_service_pb2 as hs
from lathe.history.v1 import session_pb2
from lathe.history.v1.history_service_pb2_grpc import HistoryServiceStub
from lathe.kit.home import Home

history_app = typer.Typer(help="The audit trail of training sessions: list, show, stats, export.",
                          invoke_without_command=True, no_args_is_help=False)
console = Console()
err = Console(stderr=True)
Session = session_pb2.Session

UserOption = Annotated[str | None, typer.Option("--user", "-u", help="Only this user's sessions (admins).")]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="Sessions started at or after: 2025-06-01, an RFC 3339 time, or 7d / 12h / 30m ago."),
]
UntilOption = Annotated[str | None, typer.Option("--until", help="Sessions started before this time (same forms).")]
_RELATIVE = re.compile(r"^(\d+)([dhm])$")
_OUTCOME_STYLE = {"SUCCEEDED": "green", "FAILED": "red", "CANCELLED": "yellow"}


def _home(home: Path | None) -> Home:
    return resolve_home(home)


def parse_when(value: str, option: str) -> datetime:
    """A time from a date, an RFC 3339 time, or a relative ``7d``/``12h``/``30m`` (ago)."""
    match = _RELATIVE.match(value.strip())
    if match:
        amount, unit = int(match[1]), match[2]
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]
        return datetime.now(UTC) - delta
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        err.print(f"[red]{option}: {value!r} is not a date, an RFC 3339 time, or a span such as 7d[/red]")
        raise typer.Exit(EXIT_USAGE) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_filter(user: str | None = None, since: str | None = None, until: str | None = None,
                 outcome: str | None = None, recipe: str | None = None, tag: str | None = None,
                 extra: str | None = None) -> str:
    """A ListSessions filter from the command's options."""
    terms = []
    if user:
        terms.append(f"owner = {_quote(user)}")
    if since:
        terms.append(f"start_time >= {_quote(parse_when(since, '--since').isoformat())}")
    if until:
        terms.append(f"start_time < {_quote(parse_when(until, '--until').isoformat())}")
    if outcome:
        terms.append(f"outcome = {outcome.upper()}")
    if recipe:
        terms.append(f"recipe = {_quote(recipe)}")
    if tag:
        terms.append(f"tags:{_quote(tag)}")
    if extra:
        terms.append(extra)
    return " AND ".join(terms)


def _when(ts) -> str:
    return ts.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M") if ts.seconds or ts.nanos else ""


def _span(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _outcome(session: Session) -> str:
    name = Session.Outcome.Name(session.outcome).removeprefix("OUTCOME_")
    return f"[{_OUTCOME_STYLE.get(name, 'white')}]{name.lower()}[/]"


@history_app.callback()
def history(
    ctx: typer.Context,
    user: UserOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    outcome: Annotated[str | None, typer.Option(help="succeeded, failed or cancelled.")] = None,
    recipe: Annotated[str | None, typer.Option(help="Only this recipe, such as causal-lm.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only sessions with this tag or genre.")] = None,
    order_by: Annotated[str, typer.Option(
        help="start_time, end_time, duration or quality.avg_score; add ' desc' to reverse.")] = "",
    limit: Annotated[int, typer.Option(help="Most sessions to show.")] = 50,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """List training sessions, newest first (`lathe history show ID` expands one)."""
    if ctx.invoked_subcommand is not None:
        return
    text = build_filter(user, since, until, outcome, recipe, tag)

    async def action() -> list[Session]:
        async with channel_to("history", _home(home)) as channel:
            stub = HistoryServiceStub(channel)
            sessions: list[Session] = []
            token = ""
            while len(sessions) < limit:
                page = await stub.ListSessions(hs.ListSessionsRequest(
                    filter=text, order_by=order_by, page_size=min(500, limit - len(sessions)), page_token=token))
                sessions += page.sessions
                token = page.next_page_token
                if not token:
                    break
            return sessions

    sessions = run(action)
    if as_json:
        print_json(sessions)
        return
    table = Table("session", "owner", "recipe", "started (UTC)", "duration", "outcome", "quality", "examples",
                  "model version", title=f"{len(sessions)} session(s)")
    for s in sessions:
        quality = f"{s.quality.avg_score:.3f}" if s.HasField("quality") else "-"
        examples = (f"{s.example_counts.succeeded}/{s.example_counts.requested}"
                    if s.HasField("example_counts") else "-")
        table.add_row(s.name.removeprefix("sessions/"), s.owner, s.recipe, _when(s.start_time),
                      _span(s.duration.ToTimedelta().total_seconds()), _outcome(s), quality, examples,
                      s.model_version or "-")
    console.print(table)


@history_app.command()
def show(
    session: Annotated[str, typer.Argument(help="The session id, or its name sessions/ID.")],
    revision: Annotated[int, typer.Option(help="An earlier revision (1 = as recorded); 0 = current.")] = 0,
    home: HomeOption = None,
) -> None:
    """Show every field of one session and its events (notes and corrections)."""
    name = session if session.startswith("sessions/") else f"sessions/{session}"

    async def action() -> tuple[Session, list]:
        async with channel_to("history", _home(home)) as channel:
            stub = HistoryServiceStub(channel)
            found = await stub.GetSession(hs.GetSessionRequest(name=name, revision=revision))
            events = await stub.ListSessionEvents(hs.ListSessionEventsRequest(parent=name, page_size=1000))
            return found, list(events.session_events)

    found, events = run(action)
    details = Table.grid(padding=(0, 2))
    details.add_column(style="bold")
    details.add_column()
    rows = [
        ("owner", found.owner), ("recipe", found.recipe), ("outcome", _outcome(found)),
        ("started", _when(found.start_time)), ("ended", _when(found.end_time)),
        ("compute time", _span(found.duration.ToTimedelta().total_seconds())),
        ("training job", found.training_job), ("model version", found.model_version), ("snapshot", found.snapshot),
        ("error", f"{found.error.code}: {found.error.message}" if found.HasField("error") else ""),
        ("examples", _counts(found.example_counts) if found.HasField("example_counts") else ""),
        ("tokens", _counts(found.token_counts) if found.HasField("token_counts") else ""),
        ("training examples", f"{found.training_examples_before} → {found.training_examples_after}"),
        ("fine-tune", (f"triggered (threshold {found.fine_tune.threshold}) {found.fine_tune.training_job}"
                       if found.fine_tune.triggered else "not triggered") if found.HasField("fine_tune") else ""),
        ("quality", (f"min {found.quality.min_score:.3f} · avg {found.quality.avg_score:.3f} · "
                     f"max {found.quality.max_score:.3f} ({found.quality.sample_count} samples)")
         if found.HasField("quality") else ""),
        ("best model", found.best_model),
        ("tags", ", ".join(f"{k}={v}" for k, v in sorted(found.tag_counts.items(), key=lambda kv: -kv[1]))),
        ("storage", ", ".join(f"{c.artifact}: {Session.StorageChoice.Mode.Name(c.mode).removeprefix('MODE_').lower()}"
                              f"{' ' + c.uri if c.uri else ''}" for c in found.storage_choices)),
        ("metrics", ", ".join(f"{k}={v:.4g}" for k, v in sorted(found.metrics.items()))),
        ("config", json_format.MessageToJson(found.config, indent=None) if found.HasField("config") else ""),
        ("revision", f"{found.revision} (recorded {_when(found.create_time)}, updated {_when(found.update_time)})"),
    ]
    for label, value in rows:
        if value:
            details.add_row(label, value)
    console.print(Panel(details, title=found.name, expand=False))
    if found.model_performances:
        table = Table("model", "wins", "avg quality", "samples", title="compared models")
        for p in found.model_performances:
            table.add_row(("★ " if p.model == found.best_model else "") + p.model, str(p.wins),
                          f"{p.avg_quality:.3f}", str(p.sample_count))
        console.print(table)
    if events:
        table = Table("#", "when", "actor", "kind", "what", title="events")
        for e in events:
            if e.HasField("correction"):
                what = f"corrected {', '.join(e.correction.update_mask.paths)}: {e.correction.reason}"
            else:
                what = e.annotation.text
            table.add_row(str(e.sequence), _when(e.event_time), e.actor,
                          e.WhichOneof("payload") or "", what)
        console.print(table)


def _counts(counts: Session.Counts) -> str:
    return f"{counts.succeeded} ok / {counts.failed} failed of {counts.requested} requested"


@history_app.command()
def stats(
    user: UserOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    time_zone: Annotated[str, typer.Option("--tz", help="IANA time zone of the per-day figures.")] = "",
    plot: Annotated[Path | None, typer.Option("--plot", help="Also write quality and training time per day "
                                              "to this .png or .svg file.")] = None,
    home: HomeOption = None,
) -> None:
    """Summary cards: sessions and outcomes, examples, quality, compute time by recipe and by day."""
    if plot is not None:
        from lathe.cli.plots import check_output

        check_output(plot)
    request = hs.GetStatsRequest(owner=user or "", time_zone=time_zone)
    if since:
        request.start_time.FromDatetime(parse_when(since, "--since"))
    if until:
        request.end_time.FromDatetime(parse_when(until, "--until"))

    async def action() -> hs.GetStatsResponse:
        async with channel_to("history", _home(home)) as channel:
            return await HistoryServiceStub(channel).GetStats(request)

    result = run(action)
    if plot is not None:
        from lathe.cli.plots import plot_history

        plot_history(result, plot, home)
    total_time = result.total_training_time.ToTimedelta().total_seconds()
    cards = [
        ("sessions", f"[bold]{result.total_sessions}[/]",
         f"[green]{result.succeeded_sessions} ok[/] · [red]{result.failed_sessions} failed[/] · "
         f"[yellow]{result.cancelled_sessions} cancelled[/]"),
        ("examples", f"[bold]{result.total_examples_generated}[/] generated",
         f"{result.total_examples_saved} saved · {result.total_tokens_generated} tokens"),
        ("quality", f"[bold]{result.avg_quality:.3f}[/] avg", f"over {result.quality_session_count} scored sessions"),
        ("compute", f"[bold]{_span(total_time)}[/]", f"{result.fine_tune_triggered_sessions} triggered a fine-tune"),
    ]
    title = f"history of {result.owner}" if result.owner else "history of every user"
    console.print(Columns([Panel(f"{big}\n[dim]{small}[/]", title=name, width=34) for name, big, small in cards],
                          title=title))
    if result.compute_by_recipe:
        table = Table("recipe", "sessions", "compute time", title="by recipe")
        for r in result.compute_by_recipe:
            seconds = r.usage.compute_time.ToTimedelta().total_seconds()
            table.add_row(r.recipe, str(r.usage.session_count), _span(seconds))
        console.print(table)
    if result.compute_by_day:
        days = list(result.compute_by_day)[-14:]
        peak = max(d.usage.compute_time.ToTimedelta().total_seconds() for d in days) or 1
        table = Table("day", "sessions", "compute time", "", title=f"by day (last {len(days)} with sessions)")
        for d in days:
            seconds = d.usage.compute_time.ToTimedelta().total_seconds()
            table.add_row(d.date, str(d.usage.session_count), _span(seconds), "█" * max(1, round(24 * seconds / peak)))
        console.print(table)


@history_app.command()
def export(
    format: Annotated[str, typer.Option("--format", "-f", help="csv or jsonl.")] = "csv",
    user: UserOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    filter: Annotated[str | None, typer.Option("--filter", help="A ListSessions filter, ANDed with the rest.")] = None,
    order_by: Annotated[str, typer.Option(help="As for the list; default newest first.")] = "",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    home: HomeOption = None,
) -> None:
    """Stream sessions as CSV or JSON Lines (`lathe history export --format csv > sessions.csv`)."""
    formats = {"csv": hs.EXPORT_FORMAT_CSV, "jsonl": hs.EXPORT_FORMAT_JSONL}
    if format.lower() not in formats:
        err.print(f"[red]--format must be csv or jsonl, not {format!r}[/red]")
        raise typer.Exit(EXIT_USAGE)
    request = hs.ExportSessionsRequest(format=formats[format.lower()], order_by=order_by,
                                       filter=build_filter(user, since, until, extra=filter))

    async def action() -> int:
        rows = 0
        sink = output.open("wb") if output else sys.stdout.buffer
        try:
            async with channel_to("history", _home(home)) as channel:
                async for chunk in HistoryServiceStub(channel).ExportSessions(request):
                    sink.write(chunk.data)
                    rows += chunk.row_count
        finally:
            sink.flush()
            if output:
                sink.close()
        return rows

    rows = run(action)
    err.print(f"exported {rows} session(s)" + (f" to {output}" if output else ""))
