"""Composition root of the registry service: settings → database → servicer → server."""

from __future__ import annotations

from pathlib import Path

from lathe.kit.auth import TokenAuthenticator
from lathe.kit.server import GrpcServer, ServiceBinding, build_server
from lathe.kit.service import open_database
from lathe.registry.v1 import registry_service_pb2, registry_service_pb2_grpc
from services.registry.api.servicer import RegistryServicer
from services.registry.settings import RegistrySettings

SERVICE = "registry"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FULL_NAME = registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name


async def build(settings: RegistrySettings) -> GrpcServer:
    """Wire the registry service from ``settings``: connect and migrate its database, then build its server."""
    db = await open_database(settings, SERVICE, MIGRATIONS)
    servicer = RegistryServicer(db)
    server = build_server(
        [ServiceBinding(FULL_NAME, registry_service_pb2_grpc.add_RegistryServiceServicer_to_server, servicer)],
        authenticator=TokenAuthenticator.from_file(settings.resolved_tokens_file()),
        host=settings.host,
        port=settings.port,
        max_message_bytes=settings.max_message_bytes,
        error_domain="registry.lathe.dev",
    )
    server.on_stop.append(db.dispose)
    return server
