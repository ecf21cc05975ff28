"""Typed async clients of the five services, for service-to-service calls and for tools and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from lathe.kit.clients import create_channel
from lathe.kit.settings import SERVICES, ServiceSettings

if TYPE_CHECKING:
    from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceAsyncStub
    from lathe.deployer.v1.deployer_service_pb2_grpc import DeployerServiceAsyncStub
    from lathe.history.v1.history_service_pb2_grpc import HistoryServiceAsyncStub
    from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceAsyncStub
    from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceAsyncStub


def service_full_name(service: str) -> str:
    """The gRPC name of a Lathe service (``lathe.registry.v1.RegistryService``)."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return f"lathe.{service}.v1.{service.capitalize()}Service"


class Peers:
    """Lazily opened channels to the other services, authenticated with this service's token.

    Built once in a composition root and closed on shutdown. Each accessor returns the generated stub
    (typed by the mypy-protobuf ``.pyi``), bound to a channel with retries on UNAVAILABLE, a default
    deadline and request-id propagation.
    """

    def __init__(self, addresses: dict[str, str], *, token: str | None, default_timeout: float = 30.0,
                 max_message_bytes: int = 16 * 1024 * 1024) -> None:
        self._addresses = addresses
        self._token = token
        self._timeout = default_timeout
        self._max = max_message_bytes
        self._channels: dict[str, grpc.aio.Channel] = {}

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Peers:
        """Peers at the addresses and with the service token of ``settings``."""
        token = settings.service_token.get_secret_value() if settings.service_token else None
        return cls(
            {s: settings.address_of(s) for s in SERVICES}, token=token,
            default_timeout=settings.client_timeout_seconds, max_message_bytes=settings.max_message_bytes,
        )

    def channel(self, service: str) -> grpc.aio.Channel:
        """The (shared) channel to ``service``."""
        if service not in self._channels:
            self._channels[service] = create_channel(
                self._addresses[service], token=self._token, default_timeout=self._timeout,
                max_message_bytes=self._max,
            )
        return self._channels[service]

    def corpus(self) -> CorpusServiceAsyncStub:
        """A stub of ``lathe.corpus.v1.CorpusService``."""
        from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub

        return CorpusServiceStub(self.channel("corpus"))  # type: ignore[return-value]

    def trainer(self) -> TrainerServiceAsyncStub:
        """A stub of ``lathe.trainer.v1.TrainerService``."""
        from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub

        return TrainerServiceStub(self.channel("trainer"))  # type: ignore[return-value]

    def registry(self) -> RegistryServiceAsyncStub:
        """A stub of ``lathe.registry.v1.RegistryService``."""
        from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub

        return RegistryServiceStub(self.channel("registry"))  # type: ignore[return-value]

    def history(self) -> HistoryServiceAsyncStub:
        """A stub of ``lathe.history.v1.HistoryService``."""
        from lathe.history.v1.history_service_pb2_grpc import HistoryServiceStub

        return HistoryServiceStub(self.channel("history"))  # type: ignore[return-value]

    def deployer(self) -> DeployerServiceAsyncStub:
        """A stub of ``lathe.deployer.v1.DeployerService``."""
        from lathe.deployer.v1.deployer_service_pb2_grpc import DeployerServiceStub

        return DeployerServiceStub(self.channel("deployer"))  # type: ignore[return-value]

    async def close(self) -> None:
        """Close every channel opened so far."""
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
