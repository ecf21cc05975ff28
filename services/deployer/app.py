"""Composition root of the deployer service: settings → database → servicer → server."""

from __future__ import annotations

from pathlib import Path

from lathe.deployer.v1 import deployer_service_pb2, deployer_service_pb2_grpc
from lathe.kit.auth import TokenAuthenticator
from lathe.kit.server import GrpcServer, ServiceBinding, build_server
from lathe.kit.service import open_database
from services.deployer.api.servicer import DeployerServicer
from services.deployer.settings import DeployerSettings

SERVICE = "deployer"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FULL_NAME = deployer_service_pb2.DESCRIPTOR.services_by_name["DeployerService"].full_name


async def build(settings: DeployerSettings) -> GrpcServer:
    """Wire the deployer service from ``settings``: connect and migrate its database, then build its server."""
    db = await open_database(settings, SERVICE, MIGRATIONS)
    servicer = DeployerServicer(db)
    server = build_server(
        [ServiceBinding(FULL_NAME, deployer_service_pb2_grpc.add_DeployerServiceServicer_to_server, servicer)],
        authenticator=TokenAuthenticator.from_file(settings.resolved_tokens_file()),
        host=settings.host,
        port=settings.port,
        max_message_bytes=settings.max_message_bytes,
        error_domain="deployer.lathe.dev",
    )
    server.on_stop.append(db.dispose)
    return server
