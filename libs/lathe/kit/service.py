"""What every service's ``__main__`` shares: open its database, run its server, or just migrate."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog

from lathe.kit.db import Database, create_database, migrate, service_database_url
from lathe.kit.logging import configure_logging
from lathe.kit.server import GrpcServer
from lathe.kit.settings import ServiceSettings

_log = structlog.get_logger("lathe.service")


class StartupError(RuntimeError):
    """The service cannot start (unreachable database, failed migration); the message says why."""


async def open_database(settings: ServiceSettings, service: str, migrations_dir: Path,
                        *, migrate_now: bool | None = None) -> Database:
    """Connect to the service's database, prove it answers, and apply migrations if configured."""
    url = service_database_url(settings.database_url, settings.home, service)
    db = create_database(url, schema=settings.database_schema or service, pool_size=settings.database_pool_size,
                         server_settings=settings.database_server_settings)
    try:
        version = await db.ping()
    except Exception as exc:
        await db.dispose()
        raise StartupError(f"database unreachable ({type(exc).__name__}: {exc})") from exc
    _log.info("database_connected", dialect=db.dialect, schema=db.schema, server_version=version)
    if settings.migrate_on_start if migrate_now is None else migrate_now:
        try:
            revision = await migrate(db, migrations_dir)
        except Exception as exc:
            await db.dispose()
            raise StartupError(f"migration failed ({type(exc).__name__}: {exc})") from exc
        _log.info("database_migrated", revision=revision)
    return db


def run_service(
    service: str,
    settings: ServiceSettings,
    build: Callable[[ServiceSettings], Awaitable[GrpcServer]],
    migrations_dir: Path,
    argv: Sequence[str] | None = None,
) -> int:
    """Entry point of ``python -m services.<service> [serve|migrate]``; returns the exit code."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{service}")
    parser.add_argument("command", nargs="?", default="serve", choices=("serve", "migrate"),
                        help="serve (default): run the gRPC server; migrate: apply migrations and exit")
    args = parser.parse_args(argv)
    configure_logging(settings.log_level, settings.log_format, service=service)

    async def serve() -> None:
        server = await build(settings)
        # Everything start-up made (modules, table metadata, compiled protos) leaves the collector's
        # generations: full collections then walk only what requests create, which keeps tail latency low.
        gc.collect()
        gc.freeze()
        await server.serve_until_signalled(settings.shutdown_grace_seconds)

    async def migrate_only() -> None:
        db = await open_database(settings, service, migrations_dir, migrate_now=True)
        await db.dispose()

    try:
        asyncio.run(serve() if args.command == "serve" else migrate_only())
    except StartupError as exc:
        _log.error("startup_failed", error=str(exc))
        print(f"{service}: {exc}", file=sys.stderr)
        return 2
    return 0
