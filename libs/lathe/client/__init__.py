"""A typed Python client of Lathe: async (:class:`Lathe`) and blocking (:class:`LatheSync`).

.. code-block:: python

    from lathe.client import LatheSync
    from lathe.registry.v1 import registry_service_pb2 as rs

    with LatheSync() as lathe:                      # ./.lathe's suite and admin token (or LATHE_* / server=)
        model = lathe.registry.GetModel(rs.GetModelRequest(name="models/causal-lm"))
        for version in lathe.iter_versions(model.name):
            print(version.name, {m.key: m.value for m in version.metrics})

Errors are :mod:`lathe.kit.errors` exceptions (``NotFound``, ``InvalidArgument`` with ``field_violations`` …).
"""

from lathe.client.aio import Lathe, job_name
from lathe.client.config import ClientConfig, server_addresses
from lathe.client.sync import LatheSync
from lathe.kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    LatheError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "AlreadyExists", "ClientConfig", "FailedPrecondition", "InvalidArgument", "Lathe", "LatheError", "LatheSync",
    "NotFound", "PermissionDenied", "Unauthenticated", "Unavailable", "job_name", "server_addresses",
]
