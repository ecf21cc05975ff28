"""Registered models through the real registry server and stub, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
import structlog
from google.protobuf import field_mask_pb2

from lathe.kit.errors import from_rpc_error
from lathe.registry.v1 import model_pb2, registry_service_pb2
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub


@pytest.fixture
async def registry(start_service, tokens, channel_to):
    server = await start_service("registry")

    def stub(token: str | None = tokens.alice) -> RegistryServiceStub:
        return RegistryServiceStub(channel_to(server, token=token))

    return stub


def create(model_id: str, **fields) -> registry_service_pb2.CreateModelRequest:
    return registry_service_pb2.CreateModelRequest(model_id=model_id, model=model_pb2.Model(**fields))


async def test_create_then_get_returns_what_was_stored(registry):
    stub = registry()
    created = await stub.CreateModel(create("tiny-gpt", description="char-level LM", tags={"team": "nlp"}))
    assert created.name == "models/tiny-gpt"
    assert created.creator == "alice"
    assert created.latest_version_number == 0
    assert created.create_time.seconds > 0 and created.etag
    fetched = await stub.GetModel(registry_service_pb2.GetModelRequest(name="models/tiny-gpt"))
    assert fetched == created


async def test_invalid_model_id_is_invalid_argument_naming_the_field(registry):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await registry().CreateModel(create("Bad Name!"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = from_rpc_error(caught.value)
    assert error.reason == "INVALID_MODEL_ID"
    assert error.domain == "registry.lathe.dev"
    assert [v.field for v in error.field_violations] == ["model_id"]


async def test_negative_page_size_and_foreign_page_token_are_invalid_argument(registry):
    stub = registry()
    for request, field in (
        (registry_service_pb2.ListModelsRequest(page_size=-1), "page_size"),
        (registry_service_pb2.ListModelsRequest(page_token="garbage"), "page_token"),
        (registry_service_pb2.ListModelsRequest(order_by="nonsense desc"), "order_by"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListModels(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in from_rpc_error(caught.value).field_violations] == [field]


async def test_duplicate_is_already_exists_and_nothing_is_overwritten(registry):
    stub = registry()
    await stub.CreateModel(create("dup", description="first"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateModel(create("dup", description="second"))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    kept = await stub.GetModel(registry_service_pb2.GetModelRequest(name="models/dup"))
    assert kept.description == "first"


async def test_retry_with_the_same_request_id_returns_the_first_result(registry):
    stub = registry()
    request = create("idem", description="x")
    request.request_id = str(uuid.uuid4())
    first = await stub.CreateModel(request)
    again = await stub.CreateModel(request)
    assert again == first
    request.model.description = "changed"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateModel(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert from_rpc_error(caught.value).reason == "REQUEST_ID_REUSED"


async def test_concurrent_retries_create_exactly_one_model(registry):
    stub = registry()
    request = create("race")
    request.request_id = str(uuid.uuid4())
    results = await asyncio.gather(*(stub.CreateModel(request) for _ in range(8)), return_exceptions=True)
    models = [r for r in results if isinstance(r, model_pb2.Model)]
    assert models and all(m == models[0] for m in models)
    for failure in (r for r in results if not isinstance(r, model_pb2.Model)):
        # Losing a race is a retryable ABORTED, never a duplicate or INTERNAL.
        assert failure.code() == grpc.StatusCode.ABORTED
    listed = await stub.ListModels(registry_service_pb2.ListModelsRequest())
    assert [m.name for m in listed.models] == ["models/race"]


async def test_pages_walk_every_model_once_in_order(registry):
    stub = registry()
    ids = [f"m{i:03d}" for i in range(23)]
    for model_id in ids:
        await stub.CreateModel(create(model_id))
    for order_by, expected in (("", ids), ("name desc", ids[::-1]), ("create_time desc", ids[::-1])):
        seen, token = [], ""
        while True:
            page = await stub.ListModels(
                registry_service_pb2.ListModelsRequest(page_size=5, page_token=token, order_by=order_by)
            )
            seen += [m.name.removeprefix("models/") for m in page.models]
            token = page.next_page_token
            if not token:
                break
            if order_by == "":
                # Inserting rows behind the cursor moves nothing: keyset pages never repeat or skip.
                await stub.CreateModel(create(f"a-late-{len(seen)}"))
        assert [s for s in seen if not s.startswith("a-late")] == expected
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        first = await stub.ListModels(registry_service_pb2.ListModelsRequest(page_size=5))
        await stub.ListModels(
            registry_service_pb2.ListModelsRequest(page_size=5, page_token=first.next_page_token, order_by="name desc")
        )
    assert from_rpc_error(caught.value).reason == "PAGE_TOKEN_MISMATCH"


async def test_update_with_field_mask_and_stale_etag(registry):
    stub = registry()
    created = await stub.CreateModel(create("upd", description="old", tags={"a": "1", "b": "2"}))
    updated = await stub.UpdateModel(registry_service_pb2.UpdateModelRequest(
        model=model_pb2.Model(name="models/upd", description="new", tags={"c": "3"}, display_name="ignored"),
        update_mask=field_mask_pb2.FieldMask(paths=["description", "tags.c", "tags.a"]),
    ))
    assert updated.description == "new"
    assert updated.display_name == ""
    assert dict(updated.tags) == {"b": "2", "c": "3"}
    assert updated.etag != created.etag
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UpdateModel(registry_service_pb2.UpdateModelRequest(
            model=model_pb2.Model(name="models/upd", description="lost", etag=created.etag),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ))
    assert caught.value.code() == grpc.StatusCode.ABORTED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UpdateModel(registry_service_pb2.UpdateModelRequest(
            model=model_pb2.Model(name="models/upd"), update_mask=field_mask_pb2.FieldMask(paths=["creator"]),
        ))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in from_rpc_error(caught.value).field_violations] == ["update_mask"]
    final = await stub.GetModel(registry_service_pb2.GetModelRequest(name="models/upd"))
    assert final.description == "new"


async def test_delete_and_forced_delete_needs_admin(registry, tokens):
    stub = registry()
    await stub.CreateModel(create("gone"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.DeleteModel(registry_service_pb2.DeleteModelRequest(name="models/gone", force=True))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await registry(tokens.admin).DeleteModel(registry_service_pb2.DeleteModelRequest(name="models/gone", force=True))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetModel(registry_service_pb2.GetModelRequest(name="models/gone"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_crash_in_a_handler_is_internal_without_internals_and_logged_with_traceback(
    registry, monkeypatch
):
    from services.registry.adapters.models_repository import ModelRepository

    async def explode(self, session, model_id, *, for_update=False):
        raise RuntimeError("secret connection string postgres://u:hunter2@db")

    monkeypatch.setattr(ModelRepository, "get", explode)
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs, \
            pytest.raises(grpc.aio.AioRpcError) as caught:
        await registry().GetModel(registry_service_pb2.GetModelRequest(name="models/any"), metadata=(
            ("x-request-id", "req-crash-1"),
        ))
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "hunter2" not in caught.value.details() and "Traceback" not in caught.value.details()
    assert "req-crash-1" in caught.value.details()
    crash = next(entry for entry in logs if entry["event"] == "rpc_crashed")
    assert isinstance(crash["exc_info"], RuntimeError)
    assert crash["request_id"] == "req-crash-1"
    assert crash["method"] == "/lathe.registry.v1.RegistryService/GetModel"
    finished = next(entry for entry in logs if entry["event"] == "rpc_finished")
    assert finished["code"] == "INTERNAL"


async def test_a_read_only_token_reads_but_cannot_write(registry, tokens):
    await registry().CreateModel(create("shared"))
    viewer = registry(tokens.viewer)
    assert (await viewer.GetModel(registry_service_pb2.GetModelRequest(name="models/shared"))).name
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await viewer.CreateModel(create("mine"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert from_rpc_error(caught.value).reason == "ROLE_REQUIRED"
