"""The foundation's promises, checked on each of the five real servers, on SQLite and on PostgreSQL."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from lathe.kit.errors import from_rpc_error
from lathe.kit.peers import service_full_name
from lathe.kit.settings import SERVICES

# One RPC per service that its issue has not built yet, with a valid request.
UNBUILT = {
    "corpus": ("lathe.corpus.v1.corpus_service_pb2", "CorpusServiceStub", "GetCorpusStats", "GetCorpusStatsRequest"),
    "trainer": ("lathe.trainer.v1.trainer_service_pb2", "TrainerServiceStub", "ListTrainingJobs",
                "ListTrainingJobsRequest"),
    "registry": ("lathe.registry.v1.registry_service_pb2", "RegistryServiceStub", "CreateModelVersion",
                 "CreateModelVersionRequest"),
    "history": ("lathe.history.v1.history_service_pb2", "HistoryServiceStub", "ListSessions", "ListSessionsRequest"),
    "deployer": ("lathe.deployer.v1.deployer_service_pb2", "DeployerServiceStub", "ListDeployments",
                 "ListDeploymentsRequest"),
}


def _stub_and_request(service: str, channel: grpc.aio.Channel):
    import importlib

    module_name, stub_name, method, request_name = UNBUILT[service]
    messages = importlib.import_module(module_name)
    stubs = importlib.import_module(module_name + "_grpc")
    return getattr(getattr(stubs, stub_name)(channel), method), getattr(messages, request_name)()


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
    for token in (None, "not-a-known-token"):
        call, request = _stub_and_request(service, channel_to(server, token=token))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(request)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        error = from_rpc_error(caught.value)
        assert error.reason in {"MISSING_CREDENTIALS", "INVALID_TOKEN"}


@pytest.mark.parametrize("service", SERVICES)
async def test_an_rpc_not_built_yet_says_unimplemented(service, start_service, tokens, channel_to):
    server = await start_service(service)
    call, request = _stub_and_request(service, channel_to(server, token=tokens.alice))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    error = from_rpc_error(caught.value)
    assert error.reason == "NOT_IMPLEMENTED"
    assert error.domain == f"{service}.lathe.dev"
    assert UNBUILT[service][2] in error.message
