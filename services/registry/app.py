"""Composition root of the registry service: settings → database → outbox → servicer → server."""

from __future__ import annotations

from pathlib import Path

from lathe.history.v1 import history_service_pb2
from lathe.kit.auth import TokenAuthenticator
from lathe.kit.outbox import Outbox
from lathe.kit.peers import Peers
from lathe.kit.server import GrpcServer, ServiceBinding, build_server
from lathe.kit.service import open_database
from lathe.registry.v1 import registry_service_pb2, registry_service_pb2_grpc
from services.registry.adapters.tables import outbox as outbox_table
from services.registry.api.servicer import RegistryServicer
from services.registry.api.versions_api import HISTORY_TOPIC
from services.registry.settings import RegistrySettings

SERVICE = "registry"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FULL_NAME = registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name


async def build(settings: RegistrySettings) -> GrpcServer:
    """Wire the registry from ``settings``: database, outbox to history, servicer, server."""
    db = await open_database(settings, SERVICE, MIGRATIONS)
    peers = Peers.from_settings(settings)

    async def to_history(payload: bytes, key: str) -> None:
        request = history_service_pb2.RecordLifecycleEventRequest.FromString(payload)
        request.request_id = key
        await peers.history().RecordLifecycleEvent(request)

    outbox = Outbox(db, outbox_table, {HISTORY_TOPIC: to_history})
    servicer = RegistryServicer(db, outbox, sync_verify_max_bytes=settings.sync_verify_max_bytes)
    server = build_server(
        [ServiceBinding(FULL_NAME, registry_service_pb2_grpc.add_RegistryServiceServicer_to_server, servicer)],
        authenticator=TokenAuthenticator.from_file(settings.resolved_tokens_file()),
        host=settings.host,
        port=settings.port,
        max_message_bytes=settings.max_message_bytes,
        error_domain="registry.lathe.dev",
    )
    await servicer.start_background()
    outbox.start()
    # Stopped in reverse order: the relay and the verifier before the channels and the database.
    server.on_stop.extend([db.dispose, peers.close, servicer.stop_background, outbox.stop])
    server.outbox = outbox  # type: ignore[attr-defined]
    return server
