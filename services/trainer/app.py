"""Composition root of the trainer service: settings → database → servicer → server."""

from __future__ import annotations

from pathlib import Path

from lathe.kit.auth import TokenAuthenticator
from lathe.kit.server import GrpcServer, ServiceBinding, build_server
from lathe.kit.service import open_database
from lathe.trainer.v1 import trainer_service_pb2, trainer_service_pb2_grpc
from services.trainer.api.servicer import TrainerServicer
from services.trainer.settings import TrainerSettings

SERVICE = "trainer"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FULL_NAME = trainer_service_pb2.DESCRIPTOR.services_by_name["TrainerService"].full_name


async def build(settings: TrainerSettings) -> GrpcServer:
    """Wire the trainer service from ``settings``: connect and migrate its database, then build its server."""
    db = await open_database(settings, SERVICE, MIGRATIONS)
    servicer = TrainerServicer(db)
    server = build_server(
        [ServiceBinding(FULL_NAME, trainer_service_pb2_grpc.add_TrainerServiceServicer_to_server, servicer)],
        authenticator=TokenAuthenticator.from_file(settings.resolved_tokens_file()),
        host=settings.host,
        port=settings.port,
        max_message_bytes=settings.max_message_bytes,
        error_domain="trainer.lathe.dev",
    )
    server.on_stop.append(db.dispose)
    return server
