"""Many rows in one statement on PostgreSQL, straight through asyncpg, for a service's hottest write path.

SQLAlchemy Core costs a few hundred microseconds of Python per executed statement (cache key, parameter
processing, result set-up); on a write path that runs several statements per request batch that is most of
the service's CPU. Here the same tables are written with ``INSERT … SELECT * FROM unnest($1::type[], …)``:
one statement whatever the number of rows, columns passed as typed arrays that asyncpg encodes in C, and
the same statement text (so the same prepared statement) for every batch.

The connection comes from the service's own SQLAlchemy pool (:class:`HeldConnection`), so it has the same
``search_path`` and settings as every other query; table definitions stay the SQLAlchemy ``Table`` objects
the migrations create. SQLite has no such path: callers keep a Core implementation for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from lathe.kit.db import Database

_DIALECT = postgresql.dialect()


class HeldConnection:
    """One pooled connection kept checked out by a single-writer hot path (a group-commit batcher).

    Checking a connection out per batch costs a pool round trip and a liveness ping; a writer that runs one
    transaction at a time keeps its connection instead. A transaction that fails for any reason other than a
    constraint gives the connection back invalidated, so a broken one (a database restart) is replaced by a
    fresh, pinged one on the next transaction.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._connection: Any = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """An ``asyncpg.Connection`` inside a transaction that commits when the block ends; constraint
        violations surface as SQLAlchemy's :class:`IntegrityError`, as on the Core path, so callers handle
        both backends the same way."""
        import asyncpg

        async with self._lock:
            if self._connection is not None and (await self._raw()).is_closed():
                await self._discard()  # the server closed it while it was idle (a restart, a terminated backend)
            if self._connection is None:
                self._connection = await self._db.engine.connect()
            raw = await self._raw()
            try:
                async with raw.transaction():
                    yield raw
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise IntegrityError(str(exc), None, exc) from exc
            except BaseException:
                await self._discard()
                raise

    async def _raw(self) -> Any:
        return (await self._connection.get_raw_connection()).driver_connection

    async def _discard(self) -> None:
        connection, self._connection = self._connection, None
        with contextlib.suppress(Exception):
            await connection.invalidate()
        with contextlib.suppress(Exception):
            await connection.close()

    async def close(self) -> None:
        """Return the connection to the pool."""
        async with self._lock:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                await connection.close()


def unnest_insert(table: Table, columns: Sequence[str], first_parameter: int = 1) -> str:
    """``INSERT INTO table (columns) SELECT * FROM unnest($n::type[], …)``, parameters numbered from
    ``first_parameter``, one array per column (typed as the column is)."""
    types = [table.c[name].type.compile(dialect=_DIALECT) for name in columns]
    names = ", ".join(f'"{name}"' for name in columns)
    arrays = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(types, start=first_parameter))
    return f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({arrays})'


def column_arrays(rows: Sequence[dict[str, Any]]) -> tuple[tuple[str, ...], list[list[Any]]]:
    """The column names of ``rows`` (dicts with the same keys) and one value list per column."""
    columns = tuple(rows[0])
    return columns, [[row[name] for row in rows] for name in columns]
