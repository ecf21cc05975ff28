"""The CorpusService servicer.

Every RPC of the contract is inherited from the generated base class, which answers UNIMPLEMENTED, until
the issue that builds it lands; nothing here pretends to succeed.
"""

from __future__ import annotations

from lathe.corpus.v1 import corpus_service_pb2_grpc
from lathe.kit.db import Database


class CorpusServicer(corpus_service_pb2_grpc.CorpusServiceServicer):
    """Serves ``lathe.corpus.v1.CorpusService`` from the corpus database."""

    def __init__(self, db: Database) -> None:
        self._db = db
