"""Reads and writes model lifecycle events in the history's database (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.kit.errors import NotFound
from lathe.kit.keyset import SortKey, order_clauses
from services.history.adapters.sessions_repository import after_condition, compare
from services.history.adapters.tables import lifecycle_events
from services.history.domain.filters import Term
from services.history.domain.lifecycle import AliasMove, EventIndex

e = lifecycle_events.c
SORT_COLUMNS: dict[str, Any] = {"event_time": e.event_time, "event_id": e.event_id}
_SIMPLE = {"model": e.model, "alias": e.alias, "kind": e.kind, "deployment": e.deployment,
           "event_time": e.event_time, "actor": e.actor, "source": e.source}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StoredLifecycleEvent:
    """A lifecycle event row."""

    event_id: str
    content_sha256: str
    payload: bytes
    event_time: datetime
    create_time: datetime
    source: str


def _stored(row: Row) -> StoredLifecycleEvent:
    return StoredLifecycleEvent(event_id=row.event_id, content_sha256=row.content_sha256, payload=row.payload,
                                event_time=_utc(row.event_time), create_time=_utc(row.create_time),
                                source=row.source)


_COLUMNS = (e.event_id, e.content_sha256, e.payload, e.event_time, e.create_time, e.source)


def event_conditions(terms: Sequence[Term]) -> list[ColumnElement[bool]]:
    """WHERE conditions for parsed lifecycle filter terms (bound parameters only)."""
    out: list[ColumnElement[bool]] = []
    for term in terms:
        if term.field == "model_version":
            out.append(or_(e.version_a == term.value, e.version_b == term.value))
        else:
            out.append(compare(_SIMPLE[term.field], term.op, term.value))
    return out


class LifecycleRepository:
    """Lifecycle events, inside the caller's transaction."""

    async def find(self, session: AsyncSession, event_id: str) -> StoredLifecycleEvent | None:
        """The event, or None."""
        row = (await session.execute(select(*_COLUMNS).where(e.event_id == event_id))).first()
        return _stored(row) if row else None

    async def get(self, session: AsyncSession, event_id: str) -> StoredLifecycleEvent:
        """The event; NOT_FOUND if there is none."""
        stored = await self.find(session, event_id)
        if stored is None:
            name = f"lifecycleEvents/{event_id}"
            raise NotFound(f"lifecycle event '{name}' does not exist", reason="LIFECYCLE_EVENT_NOT_FOUND",
                           metadata={"name": name})
        return stored

    async def insert(self, session: AsyncSession, event_id: str, *, index: EventIndex, model: str, actor: str,
                     source: str, event_time: datetime, now: datetime, digest: str, payload: bytes) -> None:
        """Store a new event (IntegrityError if the id is taken)."""
        await session.execute(insert(lifecycle_events).values(
            event_id=event_id, kind=index.kind, model=model, alias=index.alias, alias_version=index.alias_version,
            deployment=index.deployment, version_a=index.versions[0], version_b=index.versions[1],
            event_time=event_time, create_time=now, source=source, actor=actor, content_sha256=digest,
            payload=payload,
        ))

    async def page(self, session: AsyncSession, *, terms: Sequence[Term], keys: Sequence[SortKey],
                   after: Sequence[Any] | None, limit: int) -> list[tuple[StoredLifecycleEvent, list[Any]]]:
        """Up to ``limit`` events matching ``terms`` in the order ``keys``, strictly after ``after``."""
        query = select(*_COLUMNS).where(*event_conditions(terms))
        if after is not None:
            query = query.where(after_condition(SORT_COLUMNS, keys, after))
        query = query.order_by(*order_clauses(SORT_COLUMNS, keys)).limit(limit)
        rows = [_stored(row) for row in (await session.execute(query)).all()]
        return [(r, [r.event_time, r.event_id]) for r in rows]

    async def alias_moves(self, session: AsyncSession, *, model: str, alias: str, read_time: datetime,
                          before: tuple[datetime, str] | None, limit: int) -> list[AliasMove]:
        """Moves of one alias at or before ``read_time``, newest first, strictly older than ``before``.

        With ``limit=1`` and no ``before`` this is the question "which version held the alias at
        ``read_time``", answered by one index seek on (model, alias, event_time).
        """
        query = select(e.event_id, e.event_time, e.alias_version, e.actor).where(
            e.model == model, e.alias == alias, e.event_time <= read_time.astimezone(UTC)
        )
        keys = [SortKey("event_time", True), SortKey("event_id", True)]
        if before is not None:
            query = query.where(after_condition(SORT_COLUMNS, keys, [before[0].astimezone(UTC), before[1]]))
        query = query.order_by(*order_clauses(SORT_COLUMNS, keys)).limit(limit)
        return [AliasMove(row.event_id, _utc(row.event_time), row.alias_version or "", row.actor)
                for row in (await session.execute(query)).all()]

    async def alias_known(self, session: AsyncSession, *, model: str, alias: str) -> bool:
        """Whether any event concerns that alias of that model."""
        query = select(e.event_id).where(e.model == model, e.alias == alias).limit(1)
        return (await session.execute(query)).first() is not None
