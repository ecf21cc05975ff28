"""The transactional outbox: side effects on other services, recorded in the caller's own database.

A service writes an outbox message in the same transaction as the change it describes, so the two exist
together or not at all. A relay task delivers messages in order of creation, each with its key as the
peer's ``request_id``, so a crash between delivery and acknowledgement re-sends a message the peer then
recognises: records are delayed by an outage, never lost or duplicated. A message that failed waits out its
backoff while later ones are tried (order is kept within one pass, not across a backoff): receivers order by
the event times the messages carry, not by arrival.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import grpc
import structlog
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.kit.db import Database

_log = structlog.get_logger("lathe.outbox")

# A delivery that failed with one of these is retried with backoff; the peer is down or not built yet.
RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.UNAUTHENTICATED,
}

Handler = Callable[[bytes, str], Awaitable[None]]


def outbox_table(metadata: MetaData) -> Table:
    """The ``outbox`` table definition, added to a service's metadata."""
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("topic", String(100), nullable=False, doc="Which handler delivers it, e.g. history.lifecycle."),
        Column("key", String(200), nullable=False, unique=True, doc="Idempotency key sent as the request_id."),
        Column("payload", LargeBinary, nullable=False, doc="The serialized request."),
        Column("create_time", DateTime(timezone=True), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_time", DateTime(timezone=True), nullable=False),
        Column("last_error", Text, nullable=True),
        Column("delivered_time", DateTime(timezone=True), nullable=True, index=True),
    )


class Outbox:
    """Writes messages (inside the caller's transaction) and relays them to their handlers."""

    def __init__(self, db: Database, table: Table, handlers: dict[str, Handler], *,
                 batch_size: int = 100, max_backoff: float = 60.0, poll_interval: float = 5.0) -> None:
        self._db = db
        self._table = table
        self._handlers = handlers
        self._batch = batch_size
        self._max_backoff = max_backoff
        self._poll = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def add(self, session: AsyncSession, *, topic: str, key: str, payload: bytes) -> None:
        """Record a message in the caller's transaction; the relay is woken once it commits."""
        await self.add_many(session, [(topic, key, payload)])

    async def add_many(self, session: AsyncSession, messages: list[tuple[str, str, bytes]]) -> None:
        """Record ``(topic, key, payload)`` messages with one statement, in the caller's transaction."""
        if not messages:
            return
        await session.execute(self._table.insert(), self.rows(messages))
        self.notify()

    @property
    def table(self) -> Table:
        """The outbox table (for writers that insert :meth:`rows` themselves, e.g. :mod:`lathe.kit.pgbulk`)."""
        return self._table

    def rows(self, messages: list[tuple[str, str, bytes]]) -> list[dict]:
        """The table rows of ``(topic, key, payload)`` messages; ValueError for a topic with no handler."""
        for topic, _, _ in messages:
            if topic not in self._handlers:
                raise ValueError(f"no outbox handler for topic {topic!r}")
        now = datetime.now(UTC)
        return [{"topic": topic, "key": key, "payload": payload, "create_time": now, "attempts": 0,
                 "next_attempt_time": now} for topic, key, payload in messages]

    def notify(self) -> None:
        """Wake the relay: messages were added."""
        self._wake.set()

    async def pending(self) -> list[dict]:
        """Undelivered messages, oldest first (for tests, stats and operators)."""
        t = self._table
        async with self._db.sessions() as session:
            rows = (await session.execute(
                select(t.c.id, t.c.topic, t.c.key, t.c.payload, t.c.attempts, t.c.last_error)
                .where(t.c.delivered_time.is_(None)).order_by(t.c.id)
            )).mappings().all()
        return [dict(row) for row in rows]

    def start(self) -> None:
        """Run the relay in the background until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop the relay; undelivered messages stay for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                delivered = await self.deliver_once()
            except Exception:  # the database is down: keep the relay alive and try again later
                _log.exception("outbox_relay_failed")
                delivered = 0
            if delivered == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    async def deliver_once(self) -> int:
        """Deliver the messages that are due, in order; returns how many were delivered."""
        t = self._table
        now = datetime.now(UTC)
        async with self._db.sessions() as session:
            rows = (await session.execute(
                select(t.c.id, t.c.topic, t.c.key, t.c.payload, t.c.attempts)
                .where(t.c.delivered_time.is_(None), t.c.next_attempt_time <= now)
                .order_by(t.c.id).limit(self._batch)
            )).all()
        delivered = 0
        for row in rows:
            try:
                await self._handlers[row.topic](row.payload, row.key)
            except grpc.aio.AioRpcError as exc:
                await self._failed(row.id, row.attempts, f"{exc.code().name}: {exc.details()}",
                                   retry=exc.code() in RETRYABLE)
                if exc.code() in RETRYABLE:
                    # Later messages of the same peer would fail the same way; keep the order.
                    break
                continue
            except Exception as exc:  # the handler's own work failed (an artifact store it reads is down, …)
                await self._failed(row.id, row.attempts, f"{type(exc).__name__}: {exc}", retry=True)
                break
            async with self._db.sessions.begin() as session:
                await session.execute(update(t).where(t.c.id == row.id).values(
                    delivered_time=datetime.now(UTC), attempts=row.attempts + 1, last_error=None))
            delivered += 1
        return delivered

    async def _failed(self, message_id: int, attempts: int, error: str, *, retry: bool) -> None:
        delay = min(self._max_backoff, 0.5 * 2 ** attempts) if retry else self._max_backoff
        _log.warning("outbox_delivery_failed", message_id=message_id, attempts=attempts + 1, error=error,
                     retry_in_seconds=delay)
        async with self._db.sessions.begin() as session:
            await session.execute(update(self._table).where(self._table.c.id == message_id).values(
                attempts=attempts + 1, last_error=error[:2000],
                next_attempt_time=datetime.now(UTC) + timedelta(seconds=delay),
            ))
