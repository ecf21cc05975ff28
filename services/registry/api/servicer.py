"""The RegistryService servicer: models here, versions and the rest in versions_api.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
from google.protobuf import empty_pb2
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.kit.auth import ROLE_READER, ROLE_WRITER, current_principal
from lathe.kit.db import Database
from lathe.kit.errors import Aborted, AlreadyExists, FailedPrecondition, InvalidArgument, PermissionDenied
from lathe.kit.idempotency import RequestLog, request_digest, validate_request_id
from lathe.kit.keyset import SortKey, canonical, parse_order_by
from lathe.kit.outbox import Outbox
from lathe.kit.pagination import PageTokenCodec, page_size
from lathe.registry.v1 import model_pb2, registry_service_pb2, registry_service_pb2_grpc
from services.registry.adapters.models_repository import SORTABLE, ModelRepository, model_filter, sort_value
from services.registry.adapters.tables import aliases, model_versions, models, request_log
from services.registry.adapters.versions_repository import utc
from services.registry.api.versions_api import VersionsApi
from services.registry.domain.models import (
    ModelRecord,
    apply_update,
    parse_model_name,
    validate_fields,
    validate_model_id,
)
from services.registry.domain.versions import version_name

CREATE_MODEL = "/lathe.registry.v1.RegistryService/CreateModel"
RENAME_MODEL = "/lathe.registry.v1.RegistryService/RenameModel"


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


class RegistryServicer(VersionsApi, registry_service_pb2_grpc.RegistryServiceServicer):
    """Serves ``lathe.registry.v1.RegistryService`` from the registry database."""

    def __init__(self, db: Database, outbox: Outbox, *, page_tokens: PageTokenCodec | None = None,
                 sync_verify_max_bytes: int = 8 << 20) -> None:
        self._db = db
        self._models = ModelRepository()
        self._requests = RequestLog(request_log)
        self._tokens = page_tokens or PageTokenCodec()
        self._init_versions(outbox, sync_verify_max_bytes=sync_verify_max_bytes)

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

    async def _model_proto(self, session: AsyncSession, record: ModelRecord) -> model_pb2.Model:
        message = model_to_proto(record)
        rows = await session.execute(
            select(aliases.c.alias, model_versions.c.number, aliases.c.update_time, aliases.c.updater)
            .join(model_versions, model_versions.c.id == aliases.c.version_id)
            .join(models, models.c.uid == aliases.c.model_uid)
            .where(models.c.model_id == record.model_id).order_by(aliases.c.alias))
        for alias, number, when, updater in rows:
            entry = message.aliases.add(alias=alias, version=version_name(record.model_id, number), updater=updater)
            entry.update_time.FromDatetime(utc(when))
        return message

    async def GetModel(self, request: registry_service_pb2.GetModelRequest,
                       context: grpc.aio.ServicerContext) -> model_pb2.Model:
        current_principal().require_role(ROLE_READER)
        model_id = parse_model_name(request.name)
        async with self._db.sessions() as session:
            return await self._model_proto(session, await self._models.get(session, model_id))

    async def ListModels(self, request: registry_service_pb2.ListModelsRequest,
                         context: grpc.aio.ServicerContext) -> registry_service_pb2.ListModelsResponse:
        current_principal().require_role(ROLE_READER)
        size = page_size(request.page_size)
        where = model_filter(request.filter)
        keys = parse_order_by(request.order_by, list(SORTABLE), default="name")
        if keys[-1].field != "name":
            keys.append(SortKey("name", keys[-1].descending))  # the unique tie-breaker makes keyset pages exact
        query = self._tokens.fingerprint("ListModels", request.filter, canonical(keys))
        after = self._tokens.decode(request.page_token, query=query)
        if after is not None and len(after) != len(keys):
            raise InvalidArgument.for_field("page_token", "does not match this request's order_by")
        async with self._db.sessions() as session:
            rows = await self._models.page(session, keys, after, size + 1, where=where)
            response = registry_service_pb2.ListModelsResponse(
                models=[await self._model_proto(session, r) for r in rows[:size]])
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
            saved = await self._models.save(session, record, expected_revision=revision)
            return await self._model_proto(session, saved)

    async def RenameModel(self, request: registry_service_pb2.RenameModelRequest,
                          context: grpc.aio.ServicerContext) -> model_pb2.Model:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        model_id = parse_model_name(request.name)
        new_id = validate_model_id(request.new_model_id, "new_model_id")
        validate_request_id(request.request_id)
        digest = request_digest(request)
        try:
            async with self._db.sessions.begin() as session:
                if request.request_id:
                    earlier = await self._requests.find(session, method=RENAME_MODEL, principal=principal.user_id,
                                                        request_id=request.request_id, digest=digest,
                                                        response_type=model_pb2.Model)
                    if earlier is not None:
                        return earlier
                record = await self._models.get(session, model_id, for_update=True)
                if request.etag and request.etag != record.etag:
                    raise Aborted(f"model '{record.name}' has changed since it was read (etag mismatch)",
                                  reason="ETAG_MISMATCH")
                if await self._models.exists(session, new_id):
                    raise AlreadyExists(f"model 'models/{new_id}' already exists", reason="MODEL_ALREADY_EXISTS")
                _, deployed = await self._versions.count_referencing(session, self._versions.ids_of_model(record.uid))
                if deployed:
                    raise FailedPrecondition("a version of this model is deployed; deployments refer to it by name",
                                             reason="MODEL_DEPLOYED")
                await self._models.rename(session, model_id, new_id)
                renamed = await self._models.get(session, new_id)
                response = await self._model_proto(session, renamed)
                if request.request_id:
                    await self._requests.remember(session, method=RENAME_MODEL, principal=principal.user_id,
                                                  request_id=request.request_id, digest=digest, response=response)
                return response
        except IntegrityError:
            raise Aborted("a concurrent change took the new name; retry", reason="CONCURRENT_UPDATE") from None

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
            aliased, deployed = await self._versions.count_referencing(
                session, self._versions.ids_of_model(record.uid))
            if aliased and not request.force:
                raise FailedPrecondition("a version of this model carries an alias; delete the aliases first or "
                                         "force (admin)", reason="MODEL_ALIASED")
            if deployed and not request.force:
                raise FailedPrecondition("a version of this model is deployed; undeploy it first or force (admin)",
                                         reason="MODEL_DEPLOYED")
            # Aliases reference versions with ON DELETE RESTRICT: remove them before the cascade.
            await session.execute(delete(aliases).where(aliases.c.model_uid == record.uid))
            await session.execute(delete(model_versions).where(model_versions.c.model_uid == record.uid))
            await self._models.delete(session, model_id)
            await self._emit(session, key=f"deleted:{record.uid}", model_id=model_id, actor=principal.user_id,
                             deleted={"resource": record.name, "forced": request.force})
        return empty_pb2.Empty()
