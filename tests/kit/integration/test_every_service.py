"""The foundation's promises, checked on each of the five real servers, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from lathe.kit.errors import from_rpc_error
from lathe.kit.peers import service_full_name
from lathe.kit.settings import SERVICES


def _rpcs(service: str) -> list[tuple[str, object, bool]]:
    """(full method, request class, server-streaming) of every RPC of the service, and whether it is built."""
    module = importlib.import_module(f"lathe.{service}.v1.{service}_service_pb2")
    descriptor = module.DESCRIPTOR.services_by_name[f"{service.capitalize()}Service"]
    return [(f"/{descriptor.full_name}/{m.name}", message_factory.GetMessageClass(m.input_type), m.server_streaming)
            for m in descriptor.methods]


def _unbuilt(service: str) -> list[str]:
    """The RPCs the service's servicer still inherits from the generated base class."""
    servicer = importlib.import_module(f"services.{service}.api.servicer")
    cls = getattr(servicer, f"{service.capitalize()}Servicer")
    base = getattr(importlib.import_module(f"lathe.{service}.v1.{service}_service_pb2_grpc"),
                   f"{service.capitalize()}ServiceServicer")
    return [name for name in base.__dict__ if not name.startswith("_") and getattr(cls, name) is getattr(base, name)]


UNBUILT = [(service, name) for service in SERVICES for name in _unbuilt(service)]


async def _call(channel: grpc.aio.Channel, method: str, request_cls: object, streaming: bool) -> None:
    request = request_cls()
    if streaming:
        call = channel.unary_stream(method, request_serializer=request_cls.SerializeToString)(request)
        async for _ in call:
            pass
    else:
        await channel.unary_unary(method, request_serializer=request_cls.SerializeToString)(request)


@pytest.mark.parametrize("service", SERVICES)
async def test_health_is_serving_without_a_token(service, start_service, channel_to):
    server = await start_service(service)
    health = health_pb2_grpc.HealthStub(channel_to(server, token=None))
    for name in ("", service_full_name(service)):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("service", SERVICES)
async def test_reflection_lists_the_service_and_describes_it(service, start_service, tokens, channel_to):
    server = await start_service(service)
    stub = reflection_pb2_grpc.ServerReflectionStub(channel_to(server, token=tokens.alice))
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=service_full_name(service)),
    ]
    replies = [reply async for reply in stub.ServerReflectionInfo(iter(requests))]
    listed = {s.name for s in replies[0].list_services_response.service}
    assert service_full_name(service) in listed
    assert "grpc.health.v1.Health" in listed
    # The descriptor the server hands out is enough for a generic client (grpcurl) to build requests.
    pool = descriptor_pool.DescriptorPool()
    from google.protobuf import descriptor_pb2

    protos = [descriptor_pb2.FileDescriptorProto.FromString(b)
              for b in replies[1].file_descriptor_response.file_descriptor_proto]
    assert any(service_full_name(service).rsplit(".", 1)[1] in [s.name for s in p.service] for p in protos)
    del pool


@pytest.mark.parametrize("service", SERVICES)
async def test_calls_without_a_valid_token_are_unauthenticated(service, start_service, channel_to):
    server = await start_service(service)
    method, request_cls, streaming = _rpcs(service)[0]
    for token in (None, "not-a-known-token"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _call(channel_to(server, token=token), method, request_cls, streaming)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        error = from_rpc_error(caught.value)
        assert error.reason in {"MISSING_CREDENTIALS", "INVALID_TOKEN"}


@pytest.mark.parametrize(("service", "rpc"), UNBUILT or [pytest.param(None, None, marks=pytest.mark.skip(
    reason="every RPC of every service is built"))])
async def test_an_rpc_not_built_yet_says_unimplemented(service, rpc, start_service, tokens, channel_to):
    server = await start_service(service)
    method, request_cls, streaming = next(r for r in _rpcs(service) if r[0].endswith(f"/{rpc}"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(channel_to(server, token=tokens.alice), method, request_cls, streaming)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    error = from_rpc_error(caught.value)
    assert error.reason == "NOT_IMPLEMENTED"
    assert error.domain == f"{service}.lathe.dev"
    assert rpc in error.message
