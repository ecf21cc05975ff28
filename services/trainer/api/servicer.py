"""The TrainerService servicer.

Every RPC of the contract is inherited from the generated base class, which answers UNIMPLEMENTED, until
the issue that builds it lands; nothing here pretends to succeed.
"""

from __future__ import annotations

from lathe.kit.db import Database
from lathe.trainer.v1 import trainer_service_pb2_grpc


class TrainerServicer(trainer_service_pb2_grpc.TrainerServiceServicer):
    """Serves ``lathe.trainer.v1.TrainerService`` from the trainer database."""

    def __init__(self, db: Database) -> None:
        self._db = db
