"""SQLAlchemy 2.0 async engines and Alembic migrations, one database (schema or file) per service.

PostgreSQL (asyncpg) when ``LATHE_DATABASE_URL`` names one: every service gets its own schema, selected
through the connection's ``search_path`` so table definitions stay schema-free. Otherwise SQLite
(aiosqlite): one file per service under the home folder.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass
class Database:
    """One service's engine, its session factory and where its tables live."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    schema: str | None

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return self.engine.dialect.name

    async def ping(self) -> str:
        """Run a trivial query; returns the server version string. Raises if the database is unreachable."""
        async with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                return str((await conn.execute(text("SHOW server_version"))).scalar_one())
            return "sqlite " + str((await conn.execute(text("SELECT sqlite_version()"))).scalar_one())

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def normalize_url(url: str) -> str:
    """Select the async driver: ``postgresql://`` → asyncpg, ``sqlite://`` → aiosqlite."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        raise ValueError(f"unsupported database {backend!r}: use postgresql:// or sqlite://")
    return parsed.render_as_string(hide_password=False)


def service_database_url(database_url: str | None, home: Path, service: str) -> str:
    """The URL a service connects to: the configured server, or its own SQLite file in ``home``."""
    if database_url:
        return normalize_url(database_url)
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{(home / f'{service}.db').resolve()}"


def create_database(url: str, *, schema: str | None = None, pool_size: int = 10,
                    server_settings: dict[str, str] | None = None) -> Database:
    """An engine for ``url``; for PostgreSQL every connection's search_path is ``schema``, plus any
    ``server_settings`` (ignored for SQLite)."""
    url = normalize_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    is_pg = make_url(url).get_backend_name() == "postgresql"
    if is_pg:
        if schema is None or not _SCHEMA_RE.match(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"server_settings": {**(server_settings or {}), "search_path": schema,
                                              "application_name": f"lathe-{schema}"}},
        )
    else:
        schema = None
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_async_engine(url, **kwargs)
    if not is_pg:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return Database(engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False), schema=schema)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; the busy timeout turns lock contention into waiting.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(migrations_dir: Path, schema: str | None) -> Config:
    """An in-memory Alembic config for one service's migrations folder (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["schema"] = schema
    return config


async def migrate(db: Database, migrations_dir: Path, revision: str = "head") -> str | None:
    """Upgrade the service's schema to ``revision``; returns the revision now in force.

    On PostgreSQL the schema is created if missing and a transaction-scoped advisory lock serialises
    replicas that start at the same time, so exactly one of them runs each migration.
    """
    config = alembic_config(migrations_dir, db.schema)

    def upgrade(connection: Connection) -> str | None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        return MigrationContext.configure(
            connection, opts={"version_table_schema": db.schema}
        ).get_current_revision()

    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(f"lathe:{db.schema}".encode())}
            )
        current = await conn.run_sync(upgrade)
        await conn.commit()
    return current


def head_revision(migrations_dir: Path) -> str | None:
    """The newest revision in a migrations folder."""
    return ScriptDirectory.from_config(alembic_config(migrations_dir, None)).get_current_head()
