"""``lathe history`` against a real history server: the table, one session's details, stats cards, CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from history_helpers import full_session, make_session, record_many
from typer.testing import CliRunner

from lathe.cli.app import app
from lathe.history.v1 import history_service_pb2 as hs


async def test_history_commands_show_list_stats_and_export(start_service, tokens, channel_to, tmp_path):
    from lathe.history.v1.history_service_pb2_grpc import HistoryServiceStub

    server = await start_service("history")
    alice = HistoryServiceStub(channel_to(server, token=tokens.alice))
    full = await alice.RecordSession(hs.RecordSessionRequest(session=full_session()))
    others = await record_many(alice, [make_session(i, recipe="ngram-lm") for i in range(1, 4)])
    bob = HistoryServiceStub(channel_to(server, token=tokens.bob))
    hidden = await bob.RecordSession(hs.RecordSessionRequest(session=make_session(9)))
    env = {"LATHE_HISTORY_ADDRESS": server.address, "LATHE_TOKEN": tokens.alice, "COLUMNS": "250",
           "LATHE_HOME": str(tmp_path / "home")}

    def lathe(*args: str):
        return CliRunner().invoke(app, ["history", *args], env=env)

    # The CLI runs its own event loop; the server keeps serving on this one meanwhile.
    listed = await asyncio.to_thread(lathe)
    assert listed.exit_code == 0, listed.output
    for session in (full, *others):
        assert session.name.removeprefix("sessions/") in listed.output
    assert hidden.name.removeprefix("sessions/") not in listed.output
    narrowed = await asyncio.to_thread(lathe, "--since", "2025-06-01T13:30:00Z", "--recipe", "ngram-lm")
    assert narrowed.exit_code == 0 and "2 session(s)" in narrowed.output
    # Scripts get the same sessions as JSON (protobuf's JSON mapping), not a table.
    as_json = await asyncio.to_thread(lathe, "--json", "--recipe", "ngram-lm")
    assert as_json.exit_code == 0, as_json.output
    assert sorted(s["name"] for s in json.loads(as_json.output)) == sorted(s.name for s in others)
    shown = await asyncio.to_thread(lathe, "show", full.name.removeprefix("sessions/"))
    assert shown.exit_code == 0, shown.output
    assert "models/tiny-gpt/versions/3" in shown.output and "external/gpt-4o" in shown.output
    assert "val_loss=1.234" in shown.output
    stats = await asyncio.to_thread(lathe, "stats")
    assert stats.exit_code == 0 and "4" in stats.output and "by recipe" in stats.output
    exported = await asyncio.to_thread(lathe, "export", "--format", "csv", "--output", str(tmp_path / "out.csv"))
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert sorted(r["name"] for r in rows) == sorted(s.name for s in (full, *others))
    bad = await asyncio.to_thread(lathe, "--since", "last tuesday")
    assert bad.exit_code == 2
    refused = await asyncio.to_thread(lathe, "export", "--filter", "colour = red")
    assert refused.exit_code == 2 and "filter" in refused.output
    missing = await asyncio.to_thread(lathe, "show", hidden.name)
    assert missing.exit_code == 3
