"""The DeployerService servicer.

Every RPC of the contract is inherited from the generated base class, which answers UNIMPLEMENTED, until
the issue that builds it lands; nothing here pretends to succeed.
"""

from __future__ import annotations

from lathe.deployer.v1 import deployer_service_pb2_grpc
from lathe.kit.db import Database


class DeployerServicer(deployer_service_pb2_grpc.DeployerServiceServicer):
    """Serves ``lathe.deployer.v1.DeployerService`` from the deployer database."""

    def __init__(self, db: Database) -> None:
        self._db = db
