"""Request-id idempotency (AIP-155): a retried mutation returns the first result instead of acting twice.

Each service's schema has a ``request_log`` table. A mutation looks its ``request_id`` up first; if it is
new, the mutation and the log row are written in the same transaction, so either both exist or neither.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from google.protobuf.message import Message
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.kit.errors import InvalidArgument

MAX_REQUEST_ID_LENGTH = 128


def request_log_table(metadata: MetaData) -> Table:
    """The ``request_log`` table definition, added to a service's metadata."""
    return Table(
        "request_log",
        metadata,
        Column("method", String(200), primary_key=True, doc="Full RPC name the id was used with."),
        Column("principal", String(200), primary_key=True, doc="Caller: ids are scoped per user."),
        Column("request_id", String(MAX_REQUEST_ID_LENGTH), primary_key=True),
        Column("request_sha256", String(64), nullable=False, doc="Digest of the request, to catch id reuse."),
        Column("response", LargeBinary, nullable=False, doc="Serialized response returned to the first call."),
        Column("create_time", DateTime(timezone=True), nullable=False),
    )


def request_digest(request: Message, *, ignore: tuple[str, ...] = ("request_id",)) -> str:
    """sha256 of the request with ``ignore`` fields cleared (deterministic serialization)."""
    copy = type(request)()
    copy.CopyFrom(request)
    for name in ignore:
        copy.ClearField(name)
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def validate_request_id(request_id: str, field: str = "request_id") -> None:
    """INVALID_ARGUMENT if the id is too long or has control characters (an empty id means no idempotency)."""
    if len(request_id) > MAX_REQUEST_ID_LENGTH or any(ord(c) < 32 for c in request_id):
        raise InvalidArgument.for_field(field, f"must be at most {MAX_REQUEST_ID_LENGTH} printable characters")


class RequestLog:
    """Reads and writes the ``request_log`` table of one service."""

    def __init__(self, table: Table) -> None:
        self._table = table

    async def find(self, session: AsyncSession, *, method: str, principal: str, request_id: str,
                   digest: str, response_type: type[Message]) -> Message | None:
        """The response recorded for this id, None if new; INVALID_ARGUMENT if the id was used differently."""
        t = self._table
        row = (
            await session.execute(
                select(t.c.request_sha256, t.c.response).where(
                    t.c.method == method, t.c.principal == principal, t.c.request_id == request_id
                )
            )
        ).first()
        if row is None:
            return None
        if row.request_sha256 != digest:
            raise InvalidArgument.for_field(
                "request_id", "was already used for a different request", reason="REQUEST_ID_REUSED"
            )
        return response_type.FromString(row.response)

    async def remember(self, session: AsyncSession, *, method: str, principal: str, request_id: str,
                       digest: str, response: Message) -> None:
        """Record the response in the caller's transaction; a concurrent twin fails on the primary key."""
        await self.remember_many(session, method=method, entries=[(principal, request_id, digest, response)])

    async def remember_many(self, session: AsyncSession, *, method: str,
                            entries: list[tuple[str, str, str, Message]]) -> None:
        """Record ``(principal, request_id, digest, response)`` entries with one statement."""
        if not entries:
            return
        await session.execute(self._table.insert(), self.rows(method=method, entries=entries))

    @property
    def table(self) -> Table:
        """The request_log table (for writers that insert :meth:`rows` themselves)."""
        return self._table

    @staticmethod
    def rows(*, method: str, entries: list[tuple[str, str, str, Message]]) -> list[dict]:
        """The table rows of ``(principal, request_id, digest, response)`` entries."""
        now = datetime.now(UTC)
        return [{"method": method, "principal": principal, "request_id": request_id, "request_sha256": digest,
                 "response": response.SerializeToString(deterministic=True), "create_time": now}
                for principal, request_id, digest, response in entries]
