"""The outbox relay: a handler whose own work fails (not the peer's RPC) is retried later with backoff, never
lost, and the relay keeps delivering the other messages meanwhile."""

from __future__ import annotations

import asyncio

from sqlalchemy import MetaData

from lathe.kit.db import create_database
from lathe.kit.outbox import Outbox, outbox_table


async def test_a_handler_that_raises_is_retried_with_backoff_until_it_delivers(tmp_path):
    db = create_database(f"sqlite:///{tmp_path / 'outbox.db'}")
    metadata = MetaData()
    table = outbox_table(metadata)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    delivered: list[str] = []
    failures = {"first": 2}

    async def handler(payload: bytes, key: str) -> None:
        if failures.get(key, 0) > 0:
            failures[key] -= 1
            raise OSError("the artifact store is unreachable")
        delivered.append(key)

    outbox = Outbox(db, table, {"t": handler}, poll_interval=0.05, max_backoff=0.2)
    async with db.sessions.begin() as session:
        await outbox.add_many(session, [("t", "first", b"1"), ("t", "second", b"2")])
    outbox.start()
    try:
        for _ in range(200):
            if len(delivered) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await outbox.stop()
    assert sorted(delivered) == ["first", "second"]
    rows = {r["key"]: r for r in await outbox.pending()}
    assert rows == {}
    async with db.engine.connect() as conn:
        attempts = dict((await conn.execute(table.select().with_only_columns(table.c.key, table.c.attempts))).all())
    assert attempts == {"first": 3, "second": 1}
    await db.dispose()
