"""The registry keeps registering after PostgreSQL drops its connections (a failover, a restart, an admin
terminating backends): the batch writer's held connection is replaced, not reused broken."""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from lathe.registry.v1 import model_pb2, model_version_pb2
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """PostgreSQL only: the held connection is the PostgreSQL write path."""
    return postgres_url


async def test_versions_are_still_created_after_the_database_terminates_the_registrys_connections(
        start_service, channel_to, tokens, postgres_url, tmp_path):
    server = await start_service("registry")
    stub = RegistryServiceStub(channel_to(server, token=tokens.alice))
    await stub.CreateModel(rs.CreateModelRequest(model_id="survivor", model=model_pb2.Model()))
    data = b"weights" * 100
    (tmp_path / "model.bin").write_bytes(data)
    manifest = model_version_pb2.Manifest()
    manifest.files.add(path="model.bin", size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())

    async def create() -> model_version_pb2.ModelVersion:
        return await stub.CreateModelVersion(rs.CreateModelVersionRequest(
            parent="models/survivor", model_version=model_version_pb2.ModelVersion(
                artifact_uri=tmp_path.as_uri(), manifest=manifest, recipe="causal-lm")))

    assert (await create()).version_number == 1
    dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        terminated = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE 'lathe-registry%' "
            "AND pid <> pg_backend_pid()")
    finally:
        await admin.close()
    assert terminated >= 1
    await asyncio.sleep(0.2)  # the registry's event loop sees the closed sockets

    second = await create()
    assert second.version_number == 2
    assert second.state == model_version_pb2.ModelVersion.STATE_READY
    listed = await stub.ListModelVersions(rs.ListModelVersionsRequest(parent="models/survivor"))
    assert sorted(v.version_number for v in listed.model_versions) == [1, 2]
