"""The blocking Lathe client: the async client driven on a private event-loop thread."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from lathe.client.aio import Lathe, _Service
from lathe.kit.home import Home

if TYPE_CHECKING:
    from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
    from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub
    from lathe.deployer.v1.deployer_service_pb2_grpc import DeployerServiceStub
    from lathe.history.v1.history_service_pb2_grpc import HistoryServiceStub
    from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub
    from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub


class _Loop:
    """One event loop on a daemon thread; coroutines and async iterators are run on it from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lathe-client", daemon=True)
        self.thread.start()

    def run(self, coroutine: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def iterate(self, iterator: AsyncIterator[Any]) -> Iterator[Any]:
        try:
            while True:
                try:
                    yield self.run(iterator.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            closer = getattr(iterator, "aclose", None)
            if closer is not None and self.loop.is_running():
                self.run(closer())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class _SyncService:
    """A service of :class:`LatheSync`: the same methods as the generated stub, blocking."""

    def __init__(self, service: _Service, loop: _Loop) -> None:
        self._service = service
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._service, name)

        def call(request: Any, **kwargs: Any) -> Any:
            result = method(request, **kwargs)
            if inspect.isasyncgen(result):
                return self._loop.iterate(result)
            return self._loop.run(result)

        return call


class LatheSync:
    """A blocking client of a Lathe suite, for scripts and notebooks; same arguments as :class:`Lathe`.

    >>> with LatheSync() as lathe:
    ...     for job in lathe.iter_jobs(filter="state = RUNNING"):
    ...         print(job.name, job.step)

    Service stubs (``lathe.registry.GetModel(request)``) and every helper of :class:`Lathe` (``iter_*``,
    ``wait_job``, ``generate``, ``embed``, ``health``) block; iterators are ordinary generators.
    """

    def __init__(self, *, server: str | None = None, addresses: dict[str, str] | None = None,
                 token: str | None = None, home: str | Path | Home | None = None, timeout: float = 30.0,
                 retries: bool = True) -> None:
        self._loop = _Loop()
        # Channels must be created on the loop that uses them.
        self.aio: Lathe = self._loop.run(_make(server=server, addresses=addresses, token=token, home=home,
                                               timeout=timeout, retries=retries))
        self.config = self.aio.config

    def _service(self, name: str) -> Any:
        return _SyncService(self._loop.run(_attribute(self.aio, name)), self._loop)

    @property
    def corpus(self) -> CorpusServiceStub:
        """``lathe.corpus.v1.CorpusService``, blocking."""
        return cast("CorpusServiceStub", self._service("corpus"))

    @property
    def trainer(self) -> TrainerServiceStub:
        """``lathe.trainer.v1.TrainerService``, blocking."""
        return cast("TrainerServiceStub", self._service("trainer"))

    @property
    def registry(self) -> RegistryServiceStub:
        """``lathe.registry.v1.RegistryService``, blocking."""
        return cast("RegistryServiceStub", self._service("registry"))

    @property
    def history(self) -> HistoryServiceStub:
        """``lathe.history.v1.HistoryService``, blocking."""
        return cast("HistoryServiceStub", self._service("history"))

    @property
    def deployer(self) -> DeployerServiceStub:
        """``lathe.deployer.v1.DeployerService``, blocking."""
        return cast("DeployerServiceStub", self._service("deployer"))

    @property
    def inference(self) -> GRPCInferenceServiceStub:
        """``inference.GRPCInferenceService`` on the deployer, blocking."""
        return cast("GRPCInferenceServiceStub", self._service("inference"))

    def health(self, timeout: float = 2.0) -> dict[str, str]:
        """Each service's health status name."""
        return self._loop.run(self.aio.health(timeout))

    def wait_job(self, job: str, *, timeout: float | None = None, poll: float = 0.5) -> Any:
        """Block until the job is terminal; returns it."""
        return self._loop.run(self.aio.wait_job(job, timeout=timeout, poll=poll))

    def watch_job(self, job: str, *, resume_token: str = "") -> Iterator[Any]:
        """The job's events live until it ends."""
        return self._loop.iterate(self.aio.watch_job(job, resume_token=resume_token))

    def generate(self, deployment: str, prompts: list[str], **kwargs: Any) -> list[str]:
        """Text continuations from a deployed causal-lm."""
        return self._loop.run(self.aio.generate(deployment, prompts, **kwargs))

    def embed(self, deployment: str, texts: list[str]) -> np.ndarray:
        """Embeddings from a deployed embedding model."""
        return self._loop.run(self.aio.embed(deployment, texts))

    def __getattr__(self, name: str) -> Any:
        # iter_models, iter_versions, iter_jobs, iter_events, iter_sessions, iter_deployments … as generators.
        if name.startswith("iter_") and hasattr(Lathe, name):
            method = getattr(self.aio, name)
            return lambda *args, **kwargs: self._loop.iterate(method(*args, **kwargs))
        raise AttributeError(name)

    def close(self) -> None:
        """Close the channels and stop the loop thread."""
        if self._loop.loop.is_closed():
            return
        self._loop.run(self.aio.close())
        self._loop.stop()

    def __enter__(self) -> LatheSync:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _make(**kwargs: Any) -> Lathe:
    return Lathe(**kwargs)


async def _attribute(lathe: Lathe, name: str) -> Any:
    return getattr(lathe, name)
