"""Composition root of the corpus service: settings → database → servicer → server."""

from __future__ import annotations

from pathlib import Path

from lathe.corpus.v1 import corpus_service_pb2, corpus_service_pb2_grpc
from lathe.kit.auth import TokenAuthenticator
from lathe.kit.server import GrpcServer, ServiceBinding, build_server
from lathe.kit.service import open_database
from services.corpus.api.servicer import CorpusServicer
from services.corpus.settings import CorpusSettings

SERVICE = "corpus"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FULL_NAME = corpus_service_pb2.DESCRIPTOR.services_by_name["CorpusService"].full_name


async def build(settings: CorpusSettings) -> GrpcServer:
    """Wire the corpus service from ``settings``: connect and migrate its database, then build its server."""
    db = await open_database(settings, SERVICE, MIGRATIONS)
    servicer = CorpusServicer(db)
    server = build_server(
        [ServiceBinding(FULL_NAME, corpus_service_pb2_grpc.add_CorpusServiceServicer_to_server, servicer)],
        authenticator=TokenAuthenticator.from_file(settings.resolved_tokens_file()),
        host=settings.host,
        port=settings.port,
        max_message_bytes=settings.max_message_bytes,
        error_domain="corpus.lathe.dev",
    )
    server.on_stop.append(db.dispose)
    return server
