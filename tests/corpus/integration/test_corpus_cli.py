"""`lathe corpus` against a real corpus server: add, import, and the listings as tables or as JSON for scripts."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from lathe.cli.app import app


async def test_corpus_commands_add_import_and_list_as_json(start_service, tokens, import_root, tmp_path):
    server = await start_service("corpus", import_roots=[import_root], corpus_embed_on_import=False,
                                 corpus_import_poll_seconds=0.2)
    env = {"LATHE_CORPUS_ADDRESS": server.address, "LATHE_TOKEN": tokens.alice, "COLUMNS": "250",
           "LATHE_HOME": str(tmp_path / "home")}

    def lathe(*args: str):
        return CliRunner().invoke(app, ["corpus", *args], env=env)

    sonnet, play = tmp_path / "sonnet.txt", tmp_path / "play.txt"
    sonnet.write_text("Shall I compare thee to a summer's day?\n")
    play.write_text("ROMEO:\nBut soft, what light through yonder window breaks?\n")
    added = await asyncio.to_thread(lathe, "add", str(sonnet), str(play))
    assert added.exit_code == 0, added.output
    assert added.output.count("created") == 2
    (import_root / "lines.txt").write_text("To be, or not to be: that is the question.\nWhat's in a name?\n")
    imported = await asyncio.to_thread(lathe, "import", str(import_root), "--watch")
    assert imported.exit_code == 0, imported.output

    batches = await asyncio.to_thread(lathe, "batches", "--json")
    assert batches.exit_code == 0, batches.output
    [batch] = json.loads(batches.output)
    assert batch["path"].endswith("lines.txt") and batch["state"] == "STATE_COMPLETED"
    table = await asyncio.to_thread(lathe, "batches")
    assert table.exit_code == 0 and "lines.txt" in table.output and "{" not in table.output

    stats = await asyncio.to_thread(lathe, "stats", "--json")
    assert stats.exit_code == 0, stats.output
    counts = json.loads(stats.output)
    assert int(counts["textCount"]) == 3  # two added, one imported file
