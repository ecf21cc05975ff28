"""The grpc.aio server every service runs: health, reflection, interceptors, limits, graceful shutdown."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from lathe.kit.auth import TokenAuthenticator
from lathe.kit.interceptors import AuthLayer, ErrorLayer, LayeredInterceptor, LoggingLayer

HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
_log = structlog.get_logger("lathe.server")


@dataclass(frozen=True)
class ServiceBinding:
    """One gRPC service to host: its full name, the generated ``add_…_to_server`` and the servicer."""

    full_name: str
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: Any


@dataclass
class GrpcServer:
    """A started (or startable) server with its health service and the port it is bound to."""

    server: grpc.aio.Server
    health: health.aio.HealthServicer
    port: int
    host: str
    service_names: tuple[str, ...]
    on_stop: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def address(self) -> str:
        """``host:port`` clients dial."""
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        """Start serving and report SERVING for the server and each hosted service."""
        await self.server.start()
        for name in ("", *self.service_names):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        _log.info("server_started", address=self.address, services=list(self.service_names))

    async def stop(self, grace: float | None) -> None:
        """Report NOT_SERVING, give in-flight RPCs ``grace`` seconds, then run the stop callbacks."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        for callback in reversed(self.on_stop):
            result = callback()
            if asyncio.iscoroutine(result):
                await result
        _log.info("server_stopped", address=self.address)

    async def serve_until_signalled(self, grace: float) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        waiter = asyncio.create_task(self.server.wait_for_termination())
        signalled = asyncio.create_task(stop.wait())
        await asyncio.wait({waiter, signalled}, return_when=asyncio.FIRST_COMPLETED)
        _log.info("shutdown_requested", grace_seconds=grace)
        await self.stop(grace)
        for task in (waiter, signalled):
            task.cancel()


def build_server(
    bindings: Sequence[ServiceBinding],
    *,
    authenticator: TokenAuthenticator,
    host: str = "127.0.0.1",
    port: int = 0,
    max_message_bytes: int = 16 * 1024 * 1024,
    error_domain: str = "lathe.dev",
    extra_interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
) -> GrpcServer:
    """A server hosting ``bindings`` plus health and reflection, bound to ``host:port`` (0 = any free)."""
    server = grpc.aio.server(
        interceptors=[
            LayeredInterceptor([
                LoggingLayer(),
                ErrorLayer(error_domain),
                AuthLayer(authenticator, exempt_prefixes=(f"/{HEALTH_SERVICE}/",)),
            ]),
            *extra_interceptors,
        ],
        options=[
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.so_reuseport", 0),
        ],
    )
    for binding in bindings:
        binding.add_to_server(binding.servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = tuple(binding.full_name for binding in bindings)
    reflection.enable_server_reflection((*names, HEALTH_SERVICE, reflection.SERVICE_NAME), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"could not bind {host}:{port}")
    return GrpcServer(server=server, health=health_servicer, port=bound, host=host, service_names=names)
