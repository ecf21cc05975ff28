"""The async Lathe client: the five services' stubs with auth, deadlines, retries and typed errors, plus helpers."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lathe.client.config import ClientConfig
from lathe.kit.clients import create_channel
from lathe.kit.errors import LatheError, from_rpc_error
from lathe.kit.home import Home
from lathe.kit.settings import SERVICES

if TYPE_CHECKING:
    from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceAsyncStub
    from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceAsyncStub
    from lathe.deployer.v1.deployer_service_pb2_grpc import DeployerServiceAsyncStub
    from lathe.history.v1.history_service_pb2_grpc import HistoryServiceAsyncStub
    from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceAsyncStub
    from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceAsyncStub

T = TypeVar("T")
_TERMINAL_JOB_STATES = (3, 4, 6)  # SUCCEEDED, FAILED, CANCELLED of lathe.trainer.v1.TrainingJob.State


async def _unary(call: Awaitable[T]) -> T:
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        raise from_rpc_error(exc) from exc


async def _stream(call: AsyncIterator[T]) -> AsyncIterator[T]:
    try:
        async for item in call:
            yield item
    except grpc.aio.AioRpcError as exc:
        raise from_rpc_error(exc) from exc


class _Service:
    """A generated stub whose calls raise :class:`lathe.kit.errors.LatheError` subclasses, never ``AioRpcError``.

    Every method keeps the stub's signature: ``await lathe.registry.GetModel(request, timeout=5)``; server
    streaming methods return an async iterator.
    """

    def __init__(self, stub: Any) -> None:
        self._stub = stub

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._stub, name)
        if isinstance(method, grpc.aio.UnaryStreamMultiCallable):
            return lambda request, **kwargs: _stream(method(request, **kwargs))
        return lambda request, **kwargs: _unary(method(request, **kwargs))


class Lathe:
    """An async client of a Lathe suite.

    >>> async with Lathe() as lathe:          # the suite of ./.lathe (or $LATHE_HOME), its admin token
    ...     async for v in lathe.iter_versions(filter="metrics.validation/loss < 2"):
    ...         print(v.name)

    ``server`` (``HOST`` or ``HOST:PORT``), ``addresses`` and ``token`` override the home; see
    :meth:`ClientConfig.resolve`. Calls have a ``timeout`` second default deadline (streams have none), are
    retried on UNAVAILABLE, and raise :mod:`lathe.kit.errors` exceptions carrying the service's message,
    reason and field violations.
    """

    def __init__(self, *, server: str | None = None, addresses: dict[str, str] | None = None,
                 token: str | None = None, home: str | Path | Home | None = None, timeout: float = 30.0,
                 retries: bool = True) -> None:
        self.config = ClientConfig.resolve(server=server, addresses=addresses, token=token, home=home)
        self._timeout = timeout
        self._retries = retries
        self._channels: dict[str, grpc.aio.Channel] = {}

    # --- channels and stubs ------------------------------------------------------------------------------
    def channel(self, service: str) -> grpc.aio.Channel:
        """The shared authenticated channel to ``service`` (opened on first use)."""
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
        if service not in self._channels:
            self._channels[service] = create_channel(self.config.addresses[service], token=self.config.token,
                                                     default_timeout=self._timeout, retries=self._retries)
        return self._channels[service]

    @property
    def corpus(self) -> CorpusServiceAsyncStub:
        """``lathe.corpus.v1.CorpusService``."""
        from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub

        return cast("CorpusServiceAsyncStub", _Service(CorpusServiceStub(self.channel("corpus"))))

    @property
    def trainer(self) -> TrainerServiceAsyncStub:
        """``lathe.trainer.v1.TrainerService``."""
        from lathe.trainer.v1.trainer_service_pb2_grpc import TrainerServiceStub

        return cast("TrainerServiceAsyncStub", _Service(TrainerServiceStub(self.channel("trainer"))))

    @property
    def registry(self) -> RegistryServiceAsyncStub:
        """``lathe.registry.v1.RegistryService``."""
        from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub

        return cast("RegistryServiceAsyncStub", _Service(RegistryServiceStub(self.channel("registry"))))

    @property
    def history(self) -> HistoryServiceAsyncStub:
        """``lathe.history.v1.HistoryService``."""
        from lathe.history.v1.history_service_pb2_grpc import HistoryServiceStub

        return cast("HistoryServiceAsyncStub", _Service(HistoryServiceStub(self.channel("history"))))

    @property
    def deployer(self) -> DeployerServiceAsyncStub:
        """``lathe.deployer.v1.DeployerService``."""
        from lathe.deployer.v1.deployer_service_pb2_grpc import DeployerServiceStub

        return cast("DeployerServiceAsyncStub", _Service(DeployerServiceStub(self.channel("deployer"))))

    @property
    def inference(self) -> GRPCInferenceServiceAsyncStub:
        """The deployer's Open Inference Protocol endpoint, ``inference.GRPCInferenceService``."""
        from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub

        return cast("GRPCInferenceServiceAsyncStub", _Service(GRPCInferenceServiceStub(self.channel("deployer"))))

    async def close(self) -> None:
        """Close every channel opened so far."""
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()

    async def __aenter__(self) -> Lathe:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- health ----------------------------------------------------------------------------------------------
    async def health(self, timeout: float = 2.0) -> dict[str, str]:  # noqa: ASYNC109 - a per-probe deadline
        """Each service's health status name (``SERVING``, … or ``UNREACHABLE``)."""
        async def one(service: str) -> str:
            try:
                reply = await health_pb2_grpc.HealthStub(self.channel(service)).Check(
                    health_pb2.HealthCheckRequest(), timeout=timeout)
            except grpc.aio.AioRpcError:
                return "UNREACHABLE"
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        states = await asyncio.gather(*(one(s) for s in SERVICES))
        return dict(zip(SERVICES, states, strict=True))

    # --- paging --------------------------------------------------------------------------------------------
    @staticmethod
    async def pages(method: Callable[[Any], Awaitable[Any]], request: Any, field: str) -> AsyncIterator[Any]:
        """Every item of a List/Search RPC, following ``next_page_token`` until it is empty."""
        copy = type(request)()
        copy.CopyFrom(request)  # never mutate the caller's request
        request = copy
        while True:
            page = await method(request)
            for item in getattr(page, field):
                yield item
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def iter_models(self, *, filter: str = "", order_by: str = "", page_size: int = 100) -> AsyncIterator[Any]:
        """Every registered model matching ``filter``."""
        from lathe.registry.v1 import registry_service_pb2 as rs

        return self.pages(self.registry.ListModels,
                          rs.ListModelsRequest(filter=filter, order_by=order_by, page_size=page_size), "models")

    def iter_versions(self, model: str | None = None, *, filter: str = "", order_by: str = "",
                      page_size: int = 100) -> AsyncIterator[Any]:
        """Versions of ``model`` (``models/x`` or ``x``), or of every model (registry search) when None."""
        from lathe.registry.v1 import registry_service_pb2 as rs

        if model is None:
            return self.pages(self.registry.SearchModelVersions, rs.SearchModelVersionsRequest(
                filter=filter, order_by=order_by, page_size=page_size), "model_versions")
        parent = model if model.startswith("models/") else f"models/{model}"
        return self.pages(self.registry.ListModelVersions, rs.ListModelVersionsRequest(
            parent=parent, filter=filter, order_by=order_by, page_size=page_size), "model_versions")

    def iter_jobs(self, *, filter: str = "", order_by: str = "", page_size: int = 100) -> AsyncIterator[Any]:
        """Every training job the caller may see."""
        from lathe.trainer.v1 import trainer_service_pb2 as tpb

        return self.pages(self.trainer.ListTrainingJobs, tpb.ListTrainingJobsRequest(
            filter=filter, order_by=order_by, page_size=page_size), "training_jobs")

    def iter_events(self, job: str, *, filter: str = "", page_size: int = 500) -> AsyncIterator[Any]:
        """A training job's recorded events, oldest first (``watch_job`` follows them live)."""
        from lathe.trainer.v1 import trainer_service_pb2 as tpb

        return self.pages(self.trainer.ListTrainingEvents, tpb.ListTrainingEventsRequest(
            parent=job_name(job), filter=filter, page_size=page_size), "events")

    def iter_checkpoints(self, job: str, *, page_size: int = 100) -> AsyncIterator[Any]:
        """A training job's retained checkpoints."""
        from lathe.trainer.v1 import trainer_service_pb2 as tpb

        return self.pages(self.trainer.ListCheckpoints, tpb.ListCheckpointsRequest(
            parent=job_name(job), page_size=page_size), "checkpoints")

    def iter_sessions(self, *, filter: str = "", order_by: str = "", page_size: int = 100) -> AsyncIterator[Any]:
        """Training sessions of the audit trail."""
        from lathe.history.v1 import history_service_pb2 as hs

        return self.pages(self.history.ListSessions, hs.ListSessionsRequest(
            filter=filter, order_by=order_by, page_size=page_size), "sessions")

    def iter_lifecycle_events(self, *, filter: str = "", order_by: str = "",
                              page_size: int = 100) -> AsyncIterator[Any]:
        """Model lifecycle events (registrations, alias moves, deployments)."""
        from lathe.history.v1 import history_service_pb2 as hs

        return self.pages(self.history.ListLifecycleEvents, hs.ListLifecycleEventsRequest(
            filter=filter, order_by=order_by, page_size=page_size), "lifecycle_events")

    def iter_deployments(self, *, filter: str = "", order_by: str = "", page_size: int = 100) -> AsyncIterator[Any]:
        """Deployments."""
        from lathe.deployer.v1 import deployer_service_pb2 as ds

        return self.pages(self.deployer.ListDeployments, ds.ListDeploymentsRequest(
            filter=filter, order_by=order_by, page_size=page_size), "deployments")

    def iter_snapshots(self, *, filter: str = "", order_by: str = "", page_size: int = 100) -> AsyncIterator[Any]:
        """Corpus snapshots."""
        from lathe.corpus.v1 import corpus_service_pb2 as cs

        return self.pages(self.corpus.ListSnapshots, cs.ListSnapshotsRequest(
            filter=filter, order_by=order_by, page_size=page_size), "snapshots")

    def iter_texts(self, *, filter: str = "", order_by: str = "", page_size: int = 100) -> AsyncIterator[Any]:
        """Corpus texts (basic view)."""
        from lathe.corpus.v1 import corpus_service_pb2 as cs

        return self.pages(self.corpus.ListTexts, cs.ListTextsRequest(
            filter=filter, order_by=order_by, page_size=page_size), "texts")

    def iter_qa_clusters(self, *, filter: str = "", order_by: str = "", page_size: int = 100,
                         view: int = 0) -> AsyncIterator[Any]:
        """Q-A clusters (``view`` = ``corpus_service_pb2`` view enum, e.g. the full view with answers)."""
        from lathe.corpus.v1 import corpus_service_pb2 as cs

        return self.pages(self.corpus.ListQaClusters, cs.ListQaClustersRequest(
            filter=filter, order_by=order_by, page_size=page_size, view=view), "qa_clusters")

    def iter_import_batches(self, *, filter: str = "", order_by: str = "",
                            page_size: int = 100) -> AsyncIterator[Any]:
        """Import batches."""
        from lathe.corpus.v1 import corpus_service_pb2 as cs

        return self.pages(self.corpus.ListImportBatches, cs.ListImportBatchesRequest(
            filter=filter, order_by=order_by, page_size=page_size), "import_batches")

    # --- training --------------------------------------------------------------------------------------------
    async def watch_job(self, job: str, *, resume_token: str = "") -> AsyncIterator[Any]:
        """The job's events live (replayed from ``resume_token``), until the job reaches a terminal state."""
        from lathe.trainer.v1 import trainer_service_pb2 as tpb

        async for response in self.trainer.WatchTrainingEvents(tpb.WatchTrainingEventsRequest(
                parent=job_name(job), resume_token=resume_token)):
            if response.WhichOneof("kind") == "event":
                yield response.event

    async def wait_job(self, job: str, *, timeout: float | None = None, poll: float = 0.5) -> Any:  # noqa: ASYNC109
        """Poll until the job is SUCCEEDED, FAILED or CANCELLED; returns it. ``TimeoutError`` after ``timeout``."""
        from lathe.trainer.v1 import trainer_service_pb2 as tpb

        async def loop() -> Any:
            while True:
                found = await self.trainer.GetTrainingJob(tpb.GetTrainingJobRequest(name=job_name(job)))
                if found.state in _TERMINAL_JOB_STATES:
                    return found
                await asyncio.sleep(poll)

        return await asyncio.wait_for(loop(), timeout)

    # --- inference ---------------------------------------------------------------------------------------------
    async def generate(self, deployment: str, prompts: list[str], *, max_tokens: int = 64,
                       temperature: float = 0.8, seed: int | None = None) -> list[str]:
        """Text continuations of ``prompts`` from a deployed causal-lm (Open Inference Protocol)."""
        from inference import grpc_predict_v2_pb2 as pb

        request = pb.ModelInferRequest(model_name=_model_name(deployment))
        request.inputs.add(name="prompt", datatype="BYTES", shape=[len(prompts)])
        request.raw_input_contents.append(_pack_bytes(prompts))
        request.parameters["max_tokens"].int64_param = max_tokens
        request.parameters["temperature"].double_param = temperature
        if seed is not None:
            request.parameters["seed"].int64_param = seed
        response = await self.inference.ModelInfer(request)
        return _unpack_bytes(response.raw_output_contents[0])

    async def embed(self, deployment: str, texts: list[str]) -> np.ndarray:
        """Embeddings (one row per text, float32) from a deployed embedding model."""
        from inference import grpc_predict_v2_pb2 as pb

        request = pb.ModelInferRequest(model_name=_model_name(deployment))
        request.inputs.add(name="texts", datatype="BYTES", shape=[len(texts)])
        request.raw_input_contents.append(_pack_bytes(texts))
        response = await self.inference.ModelInfer(request)
        return np.frombuffer(response.raw_output_contents[0], dtype="<f4").reshape(list(response.outputs[0].shape))


def job_name(job: str) -> str:
    """``ID`` or ``trainingJobs/ID`` → ``trainingJobs/ID``."""
    return job if job.startswith("trainingJobs/") else f"trainingJobs/{job}"


def _model_name(deployment: str) -> str:
    return deployment.removeprefix("deployments/")


def _pack_bytes(items: list[str]) -> bytes:
    return b"".join(struct.pack("<I", len(b)) + b for b in (t.encode() for t in items))


def _unpack_bytes(raw: bytes) -> list[str]:
    out, offset = [], 0
    while offset < len(raw):
        (length,) = struct.unpack_from("<I", raw, offset)
        out.append(raw[offset + 4:offset + 4 + length].decode(errors="replace"))
        offset += 4 + length
    return out


__all__ = ["Lathe", "LatheError", "job_name"]
