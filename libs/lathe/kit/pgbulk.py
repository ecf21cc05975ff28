"""Many rows in one statement on PostgreSQL, straight through asyncpg, for a service's hottest write path.

SQLAlchemy Core costs a few hundred microseconds of Python per executed statement (cache key, parameter
processing, result set-up); on a write path that runs several statements per request batch that is most of
the service's CPU. Here the same tables are written with ``INSERT … SELECT * FROM unnest($1::type[], …)``:
one prepared statement per table whatever the number of rows, columns passed as typed arrays, so asyncpg
encodes them in C and PostgreSQL plans it once.

The connection comes from the service's own SQLAlchemy pool (:func:`raw_transaction`), so it has the same
``search_path`` and settings as every other query; table definitions stay the SQLAlchemy ``Table`` objects
the migrations create. SQLite has no such path: callers keep a Core implementation for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from lathe.kit.db import Database

_DIALECT = postgresql.dialect()


@contextlib.asynccontextmanager
async def raw_transaction(db: Database) -> AsyncIterator[Any]:
    """An ``asyncpg.Connection`` from ``db``'s pool inside a transaction that commits when the block ends.

    A unique or foreign-key violation surfaces as SQLAlchemy's :class:`IntegrityError`, as it does on the
    Core path, so callers handle both backends the same way.
    """
    import asyncpg  # only PostgreSQL deployments reach this

    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        connection = raw.driver_connection
        try:
            async with connection.transaction():
                yield connection
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc), None, exc) from exc


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


@lru_cache(maxsize=256)
def _insert_sql(table: Table, columns: tuple[str, ...], returning: tuple[str, ...]) -> str:
    sql = unnest_insert(table, columns)
    if returning:
        sql += " RETURNING " + ", ".join(f'"{name}"' for name in returning)
    return sql


async def insert_rows(connection: Any, table: Table, rows: Sequence[dict[str, Any]], *,
                      returning: Sequence[str] = ()) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys) into ``table`` with one statement; returns the
    ``returning`` columns of the new rows (in no guaranteed order: return a unique column to match them)."""
    if not rows:
        return []
    columns, arrays = column_arrays(rows)
    sql = _insert_sql(table, columns, tuple(returning))
    if returning:
        return list(await connection.fetch(sql, *arrays))
    await connection.execute(sql, *arrays)
    return []
