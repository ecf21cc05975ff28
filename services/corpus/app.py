"""Composition root of the corpus service: settings → database → artifacts, embedder, import worker → server."""

from __future__ import annotations

from pathlib import Path

import structlog

from lathe.corpus.v1 import corpus_service_pb2, corpus_service_pb2_grpc
from lathe.kit.artifacts import open_store
from lathe.kit.auth import TokenAuthenticator
from lathe.kit.server import GrpcServer, ServiceBinding, build_server
from lathe.kit.service import open_database
from services.corpus.adapters.embedder import Embedder
from services.corpus.adapters.importer import ImportWorker
from services.corpus.adapters.vectors import VectorStore
from services.corpus.api.servicer import CorpusServicer
from services.corpus.settings import CorpusSettings

SERVICE = "corpus"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FULL_NAME = corpus_service_pb2.DESCRIPTOR.services_by_name["CorpusService"].full_name
_log = structlog.get_logger("lathe.corpus")


async def build(settings: CorpusSettings) -> GrpcServer:
    """Wire the corpus service from ``settings``; its import workers start with the server."""
    db = await open_database(settings, SERVICE, MIGRATIONS)
    roots = settings.resolved_import_roots()
    if not settings.import_roots:
        roots[0].mkdir(parents=True, exist_ok=True)
    artifacts = open_store(settings.resolved_artifact_root())
    embedder = Embedder(settings.corpus_embedding_models, settings.corpus_embedding_device,
                        settings.corpus_embedding_batch_size)
    vectors = VectorStore(db, embedder, artifacts, chunk_size=settings.corpus_embedding_chunk_size)
    worker = ImportWorker(db, vectors, roots, workers=settings.corpus_import_workers,
                          max_attempts=settings.corpus_import_max_attempts,
                          poll_seconds=settings.corpus_import_poll_seconds,
                          max_text_bytes=settings.corpus_max_text_bytes,
                          max_file_bytes=settings.corpus_max_import_file_bytes)
    servicer = CorpusServicer(db, embedder=embedder, vectors=vectors, worker=worker, import_roots=roots,
                              max_text_bytes=settings.corpus_max_text_bytes,
                              max_scan_files=settings.corpus_max_scan_files,
                              embed_on_import=settings.corpus_embed_on_import)
    server = build_server(
        [ServiceBinding(FULL_NAME, corpus_service_pb2_grpc.add_CorpusServiceServicer_to_server, servicer)],
        authenticator=TokenAuthenticator.from_file(settings.resolved_tokens_file()),
        host=settings.host,
        port=settings.port,
        max_message_bytes=settings.max_message_bytes,
        error_domain="corpus.lathe.dev",
    )
    await worker.start()
    _log.info("corpus_configured", import_roots=[str(r) for r in roots], models=embedder.model_ids,
              embed_on_import=settings.corpus_embed_on_import)
    server.on_stop.append(db.dispose)
    # Callbacks run in reverse: the workers stop before the database closes.
    server.on_stop.append(worker.stop)
    return server
