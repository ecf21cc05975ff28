"""Shared fixtures: a fresh PostgreSQL database per run, tokens, and real servers on port 0."""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import grpc
import pytest
from sqlalchemy.engine import make_url

from lathe.kit.auth import ROLE_ADMIN, ROLE_SERVICE, ROLE_USER, write_tokens_file
from lathe.kit.clients import create_channel
from lathe.kit.logging import configure_logging
from lathe.kit.server import GrpcServer
from lathe.kit.settings import LogFormat

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ("sqlite", "postgres")


def _admin_url() -> str:
    return os.environ.get("LATHE_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    """Servers under test log JSON to the stderr of the session, not to whatever a CLI test captures."""
    configure_logging("info", LogFormat.JSON)


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    """A new, empty database on the test PostgreSQL server for this run, dropped afterwards.

    Unreachable PostgreSQL skips the test locally and fails it under CI=true.
    """
    admin = make_url(_admin_url())
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {admin.render_as_string()} is unreachable: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    name = f"lathe_test_{uuid.uuid4().hex[:12]}"
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Each test that uses it runs on SQLite (None: the embedded default) and on PostgreSQL."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


@dataclass(frozen=True)
class Tokens:
    """Bearer tokens of the test principals, and the file the servers read them from."""

    file: Path
    admin: str = "test-admin-token"
    alice: str = "test-alice-token"
    bob: str = "test-bob-token"
    viewer: str = "test-viewer-token"
    service: str = "test-service-token"


@pytest.fixture
def tokens(tmp_path: Path) -> Tokens:
    """A tokens file with an admin, two users and a service principal."""
    t = Tokens(file=tmp_path / "tokens.json")
    write_tokens_file(t.file, [
        (t.admin, "admin", [ROLE_ADMIN]),
        (t.alice, "alice", [ROLE_USER]),
        (t.bob, "bob", [ROLE_USER]),
        (t.viewer, "viewer", ["reader"]),
        (t.service, "lathe-services", [ROLE_SERVICE]),
    ])
    return t


@pytest.fixture
async def start_service(
    tmp_path: Path, tokens: Tokens, database_url: str | None
) -> AsyncIterator[Callable[..., object]]:
    """Start a service's real server (its own composition root) on port 0; stopped after the test."""
    started: list[GrpcServer] = []

    async def start(service: str, **overrides: object) -> GrpcServer:
        app = importlib.import_module(f"services.{service}.app")
        settings_module = importlib.import_module(f"services.{service}.settings")
        settings_cls = getattr(settings_module, f"{service.capitalize()}Settings")
        fields: dict[str, object] = {
            "home": tmp_path / "home",
            "port": 0,
            "database_url": database_url,
            # A schema per test keeps tests apart on the shared PostgreSQL database.
            "database_schema": f"{service}_{uuid.uuid4().hex[:10]}",
            "tokens_file": tokens.file,
            "log_format": "json",
        }
        settings = settings_cls(**{**fields, **overrides})
        server = await app.build(settings)
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop(0)


@pytest.fixture
async def channel_to() -> AsyncIterator[Callable[..., grpc.aio.Channel]]:
    """Open authenticated channels to test servers; closed after the test."""
    channels: list[grpc.aio.Channel] = []

    def open_channel(server: GrpcServer, token: str | None) -> grpc.aio.Channel:
        channel = create_channel(server.address, token=token, default_timeout=20)
        channels.append(channel)
        return channel

    yield open_channel
    for channel in channels:
        await channel.close()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3 API server (moto in server mode) on loopback, shared by the tests of one module; point a process
    at it with :func:`tests.kit.integration.s3_server.use_s3`."""
    from tests.kit.integration.s3_server import moto_server

    with moto_server() as endpoint:
        yield endpoint
