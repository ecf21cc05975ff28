"""The batch writer behind CreateModelVersion: numbers, version rows, side rows, in one transaction.

Two implementations of one small interface. On PostgreSQL every table of a batch is written with one
``unnest`` statement straight through asyncpg (:mod:`lathe.kit.pgbulk`): this is the registry's hottest write
path and SQLAlchemy's per-statement Python cost was most of a create's CPU. SQLite (the embedded default)
keeps SQLAlchemy Core. Both lock the batch's model rows when they reserve numbers, until commit, so version
numbers stay dense and unique under any concurrency, across processes and replicas.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from lathe.kit.db import Database
from lathe.kit.pgbulk import HeldConnection, column_arrays, unnest_insert
from services.registry.adapters.tables import model_versions, models
from services.registry.adapters.versions_repository import Searchable, VersionRepository, side_rows

NumbersByModel = dict[str, list[tuple[str, int]]]


class VersionBatch(Protocol):
    """One open transaction of the batch writer."""

    async def take_numbers(self, model_ids: list[str]) -> NumbersByModel:
        """Reserve the next number for each entry of ``model_ids`` (a model may repeat): ``model_id → [(model
        uid, number), …]`` in order; models that do not exist are absent."""

    async def insert_versions(self, rows: list[dict[str, Any]], searchables: list[Searchable], *,
                              also: Sequence[tuple[Table, list[dict[str, Any]]]] = ()) -> list[int]:
        """Store versions, their tag, metric and parameter rows, and the plain rows of ``also`` (the outbox's,
        the request log's); returns the new versions' ids in ``rows`` order."""


class _CoreBatch:
    def __init__(self, connection: AsyncConnection, repository: VersionRepository) -> None:
        self._connection = connection
        self._repository = repository

    async def take_numbers(self, model_ids: list[str]) -> NumbersByModel:
        return await self._repository.take_numbers(self._connection, model_ids)

    async def insert_versions(self, rows: list[dict[str, Any]], searchables: list[Searchable], *,
                              also: Sequence[tuple[Table, list[dict[str, Any]]]] = ()) -> list[int]:
        ids = await self._repository.insert_many(self._connection, rows, searchables)
        for table, values in also:
            if values:
                await self._connection.execute(table.insert(), values)
        return ids


_TAKE_NUMBERS = (
    f'UPDATE "{models.name}" AS m SET latest_version_number = m.latest_version_number + w.n '
    "FROM unnest($1::text[], $2::bigint[]) AS w(model_id, n) WHERE m.model_id = w.model_id "
    "RETURNING m.model_id, m.uid, m.latest_version_number"
)


class _PostgresBatch:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def take_numbers(self, model_ids: list[str]) -> NumbersByModel:
        wanted: dict[str, int] = {}
        for model_id in model_ids:
            wanted[model_id] = wanted.get(model_id, 0) + 1
        ordered = sorted(wanted)
        rows = await self._connection.fetch(_TAKE_NUMBERS, ordered, [wanted[m] for m in ordered])
        return {r["model_id"]: [(r["uid"], r["latest_version_number"] - wanted[r["model_id"]] + k + 1)
                                for k in range(wanted[r["model_id"]])] for r in rows}

    async def insert_versions(self, rows: list[dict[str, Any]], searchables: list[Searchable], *,
                              also: Sequence[tuple[Table, list[dict[str, Any]]]] = ()) -> list[int]:
        if not rows:
            return []
        columns, arrays = column_arrays(rows)
        # Side rows name their version by uid; the statement joins them to the ids the insert returns.
        side = [(table, column_arrays(values)) for table, values in side_rows([r["uid"] for r in rows], searchables)
                if values]
        plain = [(table, column_arrays(values)) for table, values in also if values]
        sql = _batch_sql(columns, tuple((t, c) for t, (c, _) in side), tuple((t, c) for t, (c, _) in plain))
        parameters = [*arrays, *(a for _, (_, arr) in side for a in arr), *(a for _, (_, arr) in plain for a in arr)]
        returned = await self._connection.fetch(sql, *parameters)
        id_of = {r["uid"]: r["id"] for r in returned}
        return [id_of[row["uid"]] for row in rows]


@lru_cache(maxsize=64)
def _batch_sql(columns: tuple[str, ...], side: tuple[tuple[Table, tuple[str, ...]], ...],
               plain: tuple[tuple[Table, tuple[str, ...]], ...]) -> str:
    """One statement for a whole batch: the versions insert, then (as data-modifying CTEs that see its
    RETURNING) their side rows and the plain rows; the result is the new versions' ``(id, uid)``."""
    ctes = [f'v AS ({unnest_insert(model_versions, columns)} RETURNING "id", "uid")']
    parameter = len(columns) + 1
    for n, (table, side_columns) in enumerate(side):
        kinds = ["text"] + [table.c[c].type.compile(dialect=postgresql.dialect()) for c in side_columns[1:]]
        arrays = ", ".join(f"${parameter + i}::{kind}[]" for i, kind in enumerate(kinds))
        aliases = [f"c{i}" for i in range(len(side_columns))]
        names = ", ".join(f'"{c}"' for c in side_columns)
        picked = ", ".join(["v.id", *(f"x.{a}" for a in aliases[1:])])
        ctes.append(f'side{n} AS (INSERT INTO "{table.name}" ({names}) SELECT {picked} FROM unnest({arrays}) '
                    f'AS x({", ".join(aliases)}) JOIN v ON v.uid = x.c0)')
        parameter += len(side_columns)
    for n, (table, plain_columns) in enumerate(plain):
        ctes.append(f"plain{n} AS ({unnest_insert(table, plain_columns, parameter)})")
        parameter += len(plain_columns)
    return "WITH " + ", ".join(ctes) + " SELECT id, uid FROM v"


class VersionWriter:
    """Opens batch transactions on the registry's database, PostgreSQL or SQLite."""

    def __init__(self, db: Database, repository: VersionRepository) -> None:
        self._db = db
        self._repository = repository
        # The batcher writes one batch at a time, so PostgreSQL batches share one held connection.
        self._held = HeldConnection(db) if db.dialect == "postgresql" else None

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[VersionBatch]:
        """A transaction that commits when the block ends (rolls back if it raises)."""
        if self._held is not None:
            async with self._held.transaction() as connection:
                yield _PostgresBatch(connection)
        else:
            async with self._db.engine.begin() as connection:
                yield _CoreBatch(connection, self._repository)

    async def close(self) -> None:
        """Give the held connection back to the pool."""
        if self._held is not None:
            await self._held.close()
