"""The RegistryService servicer: proto ⇄ domain for models.

Model versions, aliases, search, compare, deployment records and verification are inherited from the
generated base class, which answers UNIMPLEMENTED until the registry issue lands.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
from google.protobuf import empty_pb2
from sqlalchemy.exc import IntegrityError

from lathe.kit.auth import ROLE_READER, ROLE_WRITER, current_principal
from lathe.kit.db import Database
from lathe.kit.errors import Aborted, AlreadyExists, InvalidArgument, PermissionDenied, Unimplemented
from lathe.kit.idempotency import RequestLog, request_digest, validate_request_id
from lathe.kit.keyset import canonical, parse_order_by
from lathe.kit.pagination import PageTokenCodec, page_size
from lathe.registry.v1 import model_pb2, registry_service_pb2, registry_service_pb2_grpc
from services.registry.adapters.models_repository import SORTABLE, ModelRepository, sort_value
from services.registry.adapters.tables import request_log
from services.registry.domain.models import (
    ModelRecord,
    apply_update,
    parse_model_name,
    validate_fields,
    validate_model_id,
)

CREATE_MODEL = "/lathe.registry.v1.RegistryService/CreateModel"


def model_to_proto(record: ModelRecord) -> model_pb2.Model:
    """The public form of a stored model."""
    message = model_pb2.Model(
        name=record.name, uid=record.uid, display_name=record.display_name, description=record.description,
        tags=record.tags, creator=record.creator, latest_version_number=record.latest_version_number,
        etag=record.etag,
    )
    message.create_time.FromDatetime(record.create_time)
    message.update_time.FromDatetime(record.update_time)
    return message


class RegistryServicer(registry_service_pb2_grpc.RegistryServiceServicer):
    """Serves ``lathe.registry.v1.RegistryService`` from the registry database."""

    def __init__(self, db: Database, *, page_tokens: PageTokenCodec | None = None) -> None:
        self._db = db
        self._models = ModelRepository()
        self._requests = RequestLog(request_log)
        self._tokens = page_tokens or PageTokenCodec()

    async def CreateModel(self, request: registry_service_pb2.CreateModelRequest,
                          context: grpc.aio.ServicerContext) -> model_pb2.Model:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        validate_model_id(request.model_id)
        validate_request_id(request.request_id)
        validate_fields(display_name=request.model.display_name, description=request.model.description,
                        tags=request.model.tags)
        digest = request_digest(request)
        for attempt in range(2):
            try:
                async with self._db.sessions.begin() as session:

                    async def earlier() -> model_pb2.Model | None:
                        if not request.request_id:
                            return None
                        return await self._requests.find(
                            session, method=CREATE_MODEL, principal=principal.user_id,
                            request_id=request.request_id, digest=digest, response_type=model_pb2.Model,
                        )

                    if (first := await earlier()) is not None:
                        return first
                    if await self._models.exists(session, request.model_id):
                        # A twin retry may have committed between our two reads: its log row is visible now.
                        if (first := await earlier()) is not None:
                            return first
                        raise AlreadyExists(f"model 'models/{request.model_id}' already exists",
                                            reason="MODEL_ALREADY_EXISTS",
                                            metadata={"name": f"models/{request.model_id}"})
                    now = datetime.now(UTC)
                    record = ModelRecord(
                        model_id=request.model_id, uid=str(uuid.uuid4()), display_name=request.model.display_name,
                        description=request.model.description, tags=dict(request.model.tags),
                        creator=principal.user_id, create_time=now, update_time=now,
                    )
                    await self._models.insert(session, record)
                    response = model_to_proto(record)
                    if request.request_id:
                        await self._requests.remember(
                            session, method=CREATE_MODEL, principal=principal.user_id,
                            request_id=request.request_id, digest=digest, response=response,
                        )
                    return response
            except IntegrityError:
                # A concurrent create of the same id or request_id won the race; the next pass sees it.
                if attempt == 1:
                    raise Aborted("concurrent create of the same model; retry", reason="CONCURRENT_CREATE") from None
        raise AssertionError("unreachable")

    async def GetModel(self, request: registry_service_pb2.GetModelRequest,
                       context: grpc.aio.ServicerContext) -> model_pb2.Model:
        current_principal().require_role(ROLE_READER)
        model_id = parse_model_name(request.name)
        async with self._db.sessions() as session:
            return model_to_proto(await self._models.get(session, model_id))

    async def ListModels(self, request: registry_service_pb2.ListModelsRequest,
                         context: grpc.aio.ServicerContext) -> registry_service_pb2.ListModelsResponse:
        current_principal().require_role(ROLE_READER)
        size = page_size(request.page_size)
        if request.filter.strip():
            raise Unimplemented("ListModels.filter arrives with the registry's filter language; leave it empty",
                                reason="FILTER_NOT_IMPLEMENTED", metadata={"field": "filter"})
        keys = parse_order_by(request.order_by, list(SORTABLE), default="name")
        if keys[-1].field != "name":
            keys.append(type(keys[0])("name"))  # the unique tie-breaker makes keyset pages exact
        query = self._tokens.fingerprint("ListModels", request.filter, canonical(keys))
        after = self._tokens.decode(request.page_token, query=query)
        if after is not None and len(after) != len(keys):
            raise InvalidArgument.for_field("page_token", "does not match this request's order_by")
        async with self._db.sessions() as session:
            rows = await self._models.page(session, keys, after, size + 1)
        response = registry_service_pb2.ListModelsResponse(models=[model_to_proto(r) for r in rows[:size]])
        if len(rows) > size:
            last = rows[size - 1]
            response.next_page_token = self._tokens.encode([sort_value(last, k.field) for k in keys], query=query)
        return response

    async def UpdateModel(self, request: registry_service_pb2.UpdateModelRequest,
                          context: grpc.aio.ServicerContext) -> model_pb2.Model:
        current_principal().require_role(ROLE_WRITER)
        model_id = parse_model_name(request.model.name, "model.name")
        async with self._db.sessions.begin() as session:
            record = await self._models.get(session, model_id, for_update=True)
            if request.model.etag and request.model.etag != record.etag:
                raise Aborted(f"model '{record.name}' has changed since it was read (etag mismatch)",
                              reason="ETAG_MISMATCH")
            revision = record.revision
            apply_update(record, list(request.update_mask.paths), display_name=request.model.display_name,
                         description=request.model.description, tags=request.model.tags)
            return model_to_proto(await self._models.save(session, record, expected_revision=revision))

    async def DeleteModel(self, request: registry_service_pb2.DeleteModelRequest,
                          context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        model_id = parse_model_name(request.name)
        if request.force and not principal.is_admin:
            raise PermissionDenied("a forced delete needs the admin role", reason="ADMIN_REQUIRED")
        async with self._db.sessions.begin() as session:
            record = await self._models.get(session, model_id, for_update=True)
            if request.etag and request.etag != record.etag:
                raise Aborted(f"model '{record.name}' has changed since it was read (etag mismatch)",
                              reason="ETAG_MISMATCH")
            # Versions, aliases and deployment records do not exist before the registry issue lands; their
            # FAILED_PRECONDITION checks join this transaction with them.
            await self._models.delete(session, model_id)
        return empty_pb2.Empty()
