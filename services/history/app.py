"""Composition root of the history service: settings → database → servicer → server."""

from __future__ import annotations

from pathlib import Path

from lathe.history.v1 import history_service_pb2, history_service_pb2_grpc
from lathe.kit.auth import TokenAuthenticator
from lathe.kit.server import GrpcServer, ServiceBinding, build_server
from lathe.kit.service import open_database
from services.history.adapters.sessions_repository import install_sqlite_functions
from services.history.api.servicer import HistoryServicer
from services.history.settings import HistorySettings

SERVICE = "history"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FULL_NAME = history_service_pb2.DESCRIPTOR.services_by_name["HistoryService"].full_name


async def build(settings: HistorySettings) -> GrpcServer:
    """Wire the history service from ``settings``: connect and migrate its database, then build its server."""
    db = await open_database(settings, SERVICE, MIGRATIONS)
    await install_sqlite_functions(db)
    servicer = HistoryServicer(db, export_chunk_bytes=settings.export_chunk_bytes)
    server = build_server(
        [ServiceBinding(FULL_NAME, history_service_pb2_grpc.add_HistoryServiceServicer_to_server, servicer)],
        authenticator=TokenAuthenticator.from_file(settings.resolved_tokens_file()),
        host=settings.host,
        port=settings.port,
        max_message_bytes=settings.max_message_bytes,
        error_domain="history.lathe.dev",
    )
    server.on_stop.append(db.dispose)
    return server
