"""The body of every service's Alembic ``env.py``: run migrations on the connection the service passes."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection


def run_migrations_env(target_metadata: MetaData, service: str) -> None:
    """Run migrations online, on the connection in ``config.attributes`` or on ``LATHE_DATABASE_URL``.

    The second form serves the ``alembic`` command line (e.g. ``alembic revision --autogenerate``) that a
    developer runs by hand against a database.
    """
    config = context.config
    connection: Connection | None = config.attributes.get("connection")
    schema: str | None = config.attributes.get("schema")
    if connection is not None:
        _run(connection, target_metadata, schema)
        return

    from lathe.kit.db import create_database, service_database_url
    from lathe.kit.settings import ServiceSettings

    settings = ServiceSettings()
    schema = settings.database_schema or service
    db = create_database(
        service_database_url(settings.database_url, settings.home, service), schema=schema
    )

    async def run_async() -> None:
        async with db.engine.connect() as conn:
            await conn.run_sync(_run, target_metadata, db.schema)
            await conn.commit()
        await db.dispose()

    asyncio.run(run_async())


def _run(connection: Connection, target_metadata: MetaData, schema: str | None) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=schema,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
