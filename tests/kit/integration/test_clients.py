"""Outbound clients: the service token, request-id propagation, and retries while a peer restarts."""

from __future__ import annotations

import asyncio
import socket

import structlog

from lathe.kit import interceptors
from lathe.kit.peers import Peers
from lathe.kit.settings import ServiceSettings
from lathe.registry.v1 import model_pb2, registry_service_pb2


async def test_peers_call_with_the_service_token_and_forward_the_request_id(start_service, tokens):
    server = await start_service("registry")
    settings = ServiceSettings(registry_address=server.address, service_token=tokens.service)
    peers = Peers.from_settings(settings)
    try:
        # As if inside a handler of another service that received request id "req-upstream-7".
        token = interceptors._request_id.set("req-upstream-7")
        try:
            with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
                created = await peers.registry().CreateModel(registry_service_pb2.CreateModelRequest(
                    model_id="from-a-peer", model=model_pb2.Model()))
        finally:
            interceptors._request_id.reset(token)
    finally:
        await peers.close()
    assert created.creator == "lathe-services"
    finished = [e for e in logs if e["event"] == "rpc_finished"]
    assert finished and finished[-1]["request_id"] == "req-upstream-7"
    assert finished[-1]["user"] == "lathe-services"


async def test_a_call_made_while_the_peer_is_down_succeeds_once_it_is_back(start_service, tokens):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ServiceSettings(registry_address=f"127.0.0.1:{port}", service_token=tokens.service)
    peers = Peers.from_settings(settings)
    try:
        call = asyncio.ensure_future(peers.registry().ListModels(registry_service_pb2.ListModelsRequest()))
        await asyncio.sleep(0.3)
        assert not call.done()  # UNAVAILABLE so far, retried with backoff instead of failing
        await start_service("registry", port=port)
        reply = await asyncio.wait_for(call, timeout=15)
    finally:
        await peers.close()
    assert list(reply.models) == []
