"""The HistoryService servicer.

Every RPC of the contract is inherited from the generated base class, which answers UNIMPLEMENTED, until
the issue that builds it lands; nothing here pretends to succeed.
"""

from __future__ import annotations

from lathe.history.v1 import history_service_pb2_grpc
from lathe.kit.db import Database


class HistoryServicer(history_service_pb2_grpc.HistoryServiceServicer):
    """Serves ``lathe.history.v1.HistoryService`` from the history database."""

    def __init__(self, db: Database) -> None:
        self._db = db
