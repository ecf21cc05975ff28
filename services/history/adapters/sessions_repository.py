"""Reads and writes sessions, their tags and events, in the history's database (SQLAlchemy Core).

Every filter becomes a SQLAlchemy expression with bound parameters; every list is a keyset page over an
index whose columns match the ordering (owner first for a user's own list); aggregates are GROUP BY queries.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, event, exists, func, insert, literal, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.kit.db import Database
from lathe.kit.errors import Aborted, InvalidArgument, NotFound
from lathe.kit.keyset import SortKey, keyset_after, order_clauses
from services.history.adapters.tables import session_events, session_tags, sessions
from services.history.domain.filters import Term
from services.history.domain.sessions import Projection, session_name

c = sessions.c
# Public order_by field → the columns it sorts on (session_id is appended as the unique tie-breaker).
ORDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "start_time": ("start_time",),
    "end_time": ("end_time",),
    "duration": ("duration_nanos",),
    "quality.avg_score": ("quality_missing", "quality_sort"),
}
SORT_COLUMNS: dict[str, Any] = {
    "start_time": c.start_time, "end_time": c.end_time, "duration_nanos": c.duration_nanos,
    "quality_missing": c.quality_missing, "quality_sort": c.quality_sort, "session_id": c.session_id,
}
_TIME_COLUMNS = {"start_time", "end_time", "event_time"}
_FILTER_COLUMNS = {
    "owner": c.owner, "start_time": c.start_time, "end_time": c.end_time, "outcome": c.outcome, "recipe": c.recipe,
    "quality.min_score": c.quality_min, "quality.avg_score": c.quality_avg, "quality.max_score": c.quality_max,
    "fine_tune.triggered": c.fine_tune_triggered, "training_job": c.training_job,
    "model_version": c.model_version, "snapshot": c.snapshot,
}


def sort_keys(field: str, descending: bool) -> list[SortKey]:
    """The column sort keys of a public ordering; sessions without quality stay last in both directions."""
    columns = ORDER_COLUMNS[field]
    keys = [SortKey(col, descending) for col in columns]
    if field == "quality.avg_score":
        keys[0] = SortKey("quality_missing", False)
    return [*keys, SortKey("session_id", descending)]


def compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    """``column op value`` with ``value`` bound as a parameter."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return {
        "=": lambda: column == value, "!=": lambda: column != value, "<": lambda: column < value,
        "<=": lambda: column <= value, ">": lambda: column > value, ">=": lambda: column >= value,
    }[op]()


def session_conditions(terms: Sequence[Term], owner: str | None) -> list[ColumnElement[bool]]:
    """WHERE conditions for parsed filter terms, restricted to ``owner``'s sessions unless it is None."""
    conditions: list[ColumnElement[bool]] = []
    if owner is not None:
        conditions.append(c.owner == owner)
    for term in terms:
        if term.field == "tags":
            conditions.append(exists().where(session_tags.c.session_id == c.session_id,
                                             session_tags.c.tag == term.value))
        else:
            conditions.append(compare(_FILTER_COLUMNS[term.field], term.op, term.value))
    return conditions


def stats_conditions(owner: str | None, start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    """The sessions GetStats counts: one owner's (or everyone's), started in ``[start, end)``."""
    conditions = session_conditions([], owner)
    if start is not None:
        conditions.append(compare(c.start_time, ">=", start))
    if end is not None:
        conditions.append(compare(c.start_time, "<", end))
    return conditions


def encode_key(values: Sequence[Any]) -> list[Any]:
    """Sort values as they go into a page token."""
    return [v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for v in values]


def decode_key(keys: Sequence[SortKey], values: Sequence[Any], field: str = "page_token") -> list[Any]:
    """The inverse of :func:`encode_key`; INVALID_ARGUMENT naming ``field`` if the token does not fit."""
    if len(values) != len(keys):
        raise InvalidArgument.for_field(field, "does not match this request's order_by")
    out = []
    try:
        for key, value in zip(keys, values, strict=True):
            out.append(datetime.fromisoformat(value) if key.field in _TIME_COLUMNS else value)
    except (TypeError, ValueError):
        raise InvalidArgument.for_field(field, "is not a page token issued by this service") from None
    return out


def after_condition(columns: Mapping[str, Any], keys: Sequence[SortKey], last: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``last``; the redundant bound on the first column lets the index seek to it."""
    first = columns[keys[0].field]
    bound = first <= last[0] if keys[0].descending else first >= last[0]
    return and_(bound, keyset_after(columns, keys, last))


def _utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StoredSession:
    """A session row: the current view (bytes of the Session proto) and its bookkeeping."""

    session_id: str
    owner: str
    current: bytes
    record: bytes
    content_sha256: str
    revision: int
    event_count: int
    create_time: datetime
    update_time: datetime
    sort_values: tuple[Any, ...] = ()

    @property
    def name(self) -> str:
        """The resource name of the session."""
        return session_name(self.session_id)


_ROW_COLUMNS = (c.session_id, c.owner, c.current, c.record, c.content_sha256, c.revision, c.event_count,
                c.create_time, c.update_time)


def _stored(row: Row, keys: Sequence[SortKey] = ()) -> StoredSession:
    mapping = row._mapping
    return StoredSession(
        session_id=row.session_id, owner=row.owner, current=row.current, record=row.record,
        content_sha256=row.content_sha256, revision=row.revision, event_count=row.event_count,
        create_time=_utc(row.create_time), update_time=_utc(row.update_time),
        sort_values=tuple(_utc(v) if isinstance(v, datetime) else v for v in (mapping[k.field] for k in keys)),
    )


@dataclass(frozen=True)
class StoredEvent:
    """A session event row."""

    sequence: int
    payload: bytes


@dataclass(frozen=True)
class Totals:
    """The aggregate row of GetStats."""

    total: int
    succeeded: int
    failed: int
    cancelled: int
    examples_generated: int
    examples_saved: int
    tokens_generated: int
    avg_quality: float
    quality_sessions: int
    duration_nanos: int
    fine_tune_triggered: int


def _local_date(value: str | None, zone: str) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone(zone)).date().isoformat()


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


async def install_sqlite_functions(db: Database) -> None:
    """Give every SQLite connection ``lathe_local_date(time, zone)`` (PostgreSQL has time zones built in)."""
    if db.dialect != "sqlite":
        return

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("lathe_local_date", 2, _local_date, deterministic=True)

    event.listen(db.engine.sync_engine, "connect", on_connect)
    # Connections pooled before the listener existed (migrations) lack the function: start afresh.
    await db.engine.dispose()


class SessionRepository:
    """Sessions and their events, inside the caller's transaction."""

    def __init__(self, dialect: str) -> None:
        self._dialect = dialect

    async def find(self, session: AsyncSession, session_id: str, *, for_update: bool = False) -> StoredSession | None:
        """The session row, or None."""
        query = select(*_ROW_COLUMNS).where(c.session_id == session_id)
        if for_update and self._dialect == "postgresql":
            query = query.with_for_update()
        row = (await session.execute(query)).first()
        return _stored(row) if row else None

    async def get(self, session: AsyncSession, session_id: str, *, visible_to: str | None,
                  for_update: bool = False) -> StoredSession:
        """The session if ``visible_to`` (None: anyone) owns it; NOT_FOUND otherwise, revealing nothing."""
        stored = await self.find(session, session_id, for_update=for_update)
        if stored is None or (visible_to is not None and stored.owner != visible_to):
            raise NotFound(f"session '{session_name(session_id)}' does not exist", reason="SESSION_NOT_FOUND",
                           metadata={"name": session_name(session_id)})
        return stored

    async def insert(self, session: AsyncSession, session_id: str, *, record: bytes, digest: str,
                     projection: Projection, now: datetime) -> StoredSession:
        """Store a new session (IntegrityError if the id is taken) with its tags."""
        values = self._projection_values(projection)
        await session.execute(insert(sessions).values(
            session_id=session_id, owner=projection.owner, record=record, content_sha256=digest, current=record,
            revision=1, event_count=0, create_time=now, update_time=now, **values,
        ))
        await self._write_tags(session, session_id, projection.tag_counts)
        return StoredSession(session_id=session_id, owner=projection.owner, current=record, record=record,
                             content_sha256=digest, revision=1, event_count=0, create_time=now, update_time=now)

    async def insert_many(self, session: AsyncSession, rows: Sequence[tuple[str, bytes, str, Projection]],
                          now: datetime) -> None:
        """Store many new sessions in one statement per table (bulk loads: benchmarks, imports)."""
        if not rows:
            return
        await session.execute(insert(sessions), [
            dict(session_id=sid, owner=p.owner, record=rec, content_sha256=digest, current=rec, revision=1,
                 event_count=0, create_time=now, update_time=now, **self._projection_values(p))
            for sid, rec, digest, p in rows
        ])
        tags = [dict(session_id=sid, tag=t, count=n) for sid, _, _, p in rows for t, n in p.tag_counts.items()]
        if tags:
            await session.execute(insert(session_tags), tags)

    @staticmethod
    def _projection_values(p: Projection) -> dict[str, Any]:
        return dict(
            recipe=p.recipe, training_job=p.training_job, model_version=p.model_version, snapshot=p.snapshot,
            start_time=p.start_time, end_time=p.end_time, duration_nanos=p.duration_nanos, outcome=p.outcome,
            quality_min=p.quality_min, quality_avg=p.quality_avg, quality_max=p.quality_max,
            quality_missing=0 if p.quality_avg is not None else 1,
            quality_sort=p.quality_avg if p.quality_avg is not None else 0.0,
            examples_generated=p.examples_generated, examples_saved=p.examples_saved,
            tokens_generated=p.tokens_generated, fine_tune_triggered=p.fine_tune_triggered,
        )

    async def _write_tags(self, session: AsyncSession, session_id: str, tags: Mapping[str, int]) -> None:
        await session.execute(session_tags.delete().where(session_tags.c.session_id == session_id))
        if tags:
            await session.execute(insert(session_tags),
                                  [dict(session_id=session_id, tag=t, count=n) for t, n in tags.items()])

    async def page(self, session: AsyncSession, *, terms: Sequence[Term], owner: str | None,
                   keys: Sequence[SortKey], after: Sequence[Any] | None, limit: int) -> list[StoredSession]:
        """Up to ``limit`` sessions matching ``terms`` in the order ``keys``, strictly after ``after``."""
        columns = [*_ROW_COLUMNS, *(SORT_COLUMNS[k.field] for k in keys if k.field != "session_id")]
        query = select(*columns).where(*session_conditions(terms, owner))
        if after is not None:
            query = query.where(after_condition(SORT_COLUMNS, keys, after))
        query = query.order_by(*order_clauses(SORT_COLUMNS, keys)).limit(limit)
        return [_stored(row, keys) for row in (await session.execute(query)).all()]

    async def append_event(self, session: AsyncSession, stored: StoredSession, *, kind: int, actor: str,
                           event_time: datetime, revision: int | None, payload: bytes) -> int:
        """Append an event (the next sequence) to a locked session row; returns its sequence."""
        sequence = stored.event_count + 1
        result = await session.execute(
            update(sessions).where(c.session_id == stored.session_id, c.event_count == stored.event_count)
            .values(event_count=sequence)
        )
        if result.rowcount != 1:
            raise Aborted(f"session '{stored.name}' changed concurrently; retry", reason="CONCURRENT_UPDATE")
        await session.execute(insert(session_events).values(
            session_id=stored.session_id, sequence=sequence, kind=kind, actor=actor, event_time=event_time,
            revision=revision, payload=payload,
        ))
        return sequence

    async def apply_revision(self, session: AsyncSession, stored: StoredSession, *, current: bytes,
                             projection: Projection, now: datetime) -> None:
        """Make ``current`` the session's view at the next revision, with its indexed values."""
        result = await session.execute(
            update(sessions).where(c.session_id == stored.session_id, c.revision == stored.revision)
            .values(current=current, revision=stored.revision + 1, update_time=now,
                    **self._projection_values(projection))
        )
        if result.rowcount != 1:
            raise Aborted(f"session '{stored.name}' was corrected concurrently; read it again and retry",
                          reason="CONCURRENT_UPDATE")
        await self._write_tags(session, stored.session_id, projection.tag_counts)

    async def corrections(self, session: AsyncSession, session_id: str, up_to_revision: int) -> list[StoredEvent]:
        """The corrections that produced revisions 2 … ``up_to_revision``, in order."""
        e = session_events.c
        query = (select(e.sequence, e.payload)
                 .where(e.session_id == session_id, e.revision.is_not(None), e.revision <= up_to_revision)
                 .order_by(e.sequence))
        return [StoredEvent(row.sequence, row.payload) for row in (await session.execute(query)).all()]

    async def events(self, session: AsyncSession, session_id: str, *, terms: Sequence[Term], descending: bool,
                     after: int | None, limit: int) -> list[StoredEvent]:
        """A keyset page of a session's events in ``sequence`` order."""
        e = session_events.c
        columns = {"kind": e.kind, "actor": e.actor, "event_time": e.event_time}
        query = select(e.sequence, e.payload).where(
            e.session_id == session_id, *(compare(columns[t.field], t.op, t.value) for t in terms)
        )
        if after is not None:
            query = query.where(e.sequence < after if descending else e.sequence > after)
        query = query.order_by(e.sequence.desc() if descending else e.sequence).limit(limit)
        return [StoredEvent(row.sequence, row.payload) for row in (await session.execute(query)).all()]

    async def totals(self, session: AsyncSession, conditions: Sequence[ColumnElement[bool]]) -> Totals:
        """Counts and sums over the matching sessions, in one aggregate query."""

        def count_of(condition: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        query = select(
            func.count().label("total"),
            count_of(c.outcome == 1).label("succeeded"),
            count_of(c.outcome == 2).label("failed"),
            count_of(c.outcome == 3).label("cancelled"),
            func.coalesce(func.sum(c.examples_generated), 0).label("examples_generated"),
            func.coalesce(func.sum(c.examples_saved), 0).label("examples_saved"),
            func.coalesce(func.sum(c.tokens_generated), 0).label("tokens_generated"),
            func.coalesce(func.avg(c.quality_avg), 0.0).label("avg_quality"),
            func.count(c.quality_avg).label("quality_sessions"),
            func.coalesce(func.sum(c.duration_nanos), 0).label("duration_nanos"),
            count_of(c.fine_tune_triggered.is_(True)).label("fine_tune_triggered"),
        ).where(*conditions)
        row = (await session.execute(query)).one()
        return Totals(**{k: (float(v) if k == "avg_quality" else int(v)) for k, v in row._mapping.items()})

    async def by_recipe(self, session: AsyncSession,
                        conditions: Sequence[ColumnElement[bool]]) -> list[tuple[str, int, int]]:
        """(recipe, sessions, compute nanoseconds), largest compute first."""
        compute = func.sum(c.duration_nanos)
        query = (select(c.recipe, func.count(), compute).where(*conditions).group_by(c.recipe)
                 .order_by(compute.desc(), c.recipe))
        return [(r[0], int(r[1]), int(r[2])) for r in (await session.execute(query)).all()]

    async def by_day(self, session: AsyncSession, conditions: Sequence[ColumnElement[bool]],
                     zone: str) -> list[tuple[str, int, int]]:
        """(local date, sessions, compute nanoseconds) for each day with sessions, oldest first."""
        if self._dialect == "postgresql":
            day = func.to_char(func.timezone(literal(zone), c.start_time), "YYYY-MM-DD")
        else:
            day = func.lathe_local_date(c.start_time, literal(zone))
        inner = select(day.label("day"), c.duration_nanos).where(*conditions).subquery()
        query = (select(inner.c.day, func.count(), func.sum(inner.c.duration_nanos))
                 .group_by(inner.c.day).order_by(inner.c.day))
        return [(r[0], int(r[1]), int(r[2])) for r in (await session.execute(query)).all()]
