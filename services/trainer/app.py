"""Composition root of the trainer: settings → database → store → outbox → scheduler → servicer → server."""

from __future__ import annotations

import os
from pathlib import Path

import grpc
import structlog

from lathe.history.v1 import history_service_pb2
from lathe.kit.auth import TokenAuthenticator
from lathe.kit.outbox import Outbox
from lathe.kit.peers import Peers
from lathe.kit.server import GrpcServer, ServiceBinding, build_server
from lathe.kit.service import open_database
from lathe.registry.v1 import model_pb2, registry_service_pb2
from lathe.trainer.v1 import trainer_service_pb2, trainer_service_pb2_grpc, training_event_pb2
from services.trainer.adapters.evaluations import EVALUATION_TOPIC, record_on_version
from services.trainer.adapters.kubeflow import STORE_ENVIRONMENT
from services.trainer.adapters.records import (
    HISTORY_TOPIC,
    REGISTER_TOPIC,
    REGISTRY_TOPIC,
    Records,
    registration_request,
)
from services.trainer.adapters.remote import KubectlCluster, RemoteWorkers
from services.trainer.adapters.scheduler import Scheduler, discover_devices
from services.trainer.adapters.store import JobStore, job_id_of
from services.trainer.adapters.tables import outbox as outbox_table
from services.trainer.api.servicer import TrainerServicer
from services.trainer.domain.config import ClusterLimits
from services.trainer.settings import TrainerSettings

SERVICE = "trainer"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FULL_NAME = trainer_service_pb2.DESCRIPTOR.services_by_name["TrainerService"].full_name
Event = training_event_pb2.TrainingEvent


async def build(settings: TrainerSettings) -> GrpcServer:
    """Wire the trainer from ``settings``: database, job store, outbox to registry and history, scheduler."""
    db = await open_database(settings, SERVICE, MIGRATIONS)
    peers = Peers.from_settings(settings)
    store = JobStore(db)

    async def register_job(payload: bytes, key: str) -> None:
        await register(await registration_request(payload), key)

    async def to_registry(payload: bytes, key: str) -> None:
        await register(registry_service_pb2.CreateModelVersionRequest.FromString(payload), key)

    async def register(request: registry_service_pb2.CreateModelVersionRequest, key: str) -> None:
        request.request_id = key
        registry = peers.registry()
        try:
            await registry.CreateModel(registry_service_pb2.CreateModelRequest(
                model_id=request.parent.split("/", 1)[1], model=model_pb2.Model(), request_id=f"model:{key}"))
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        version = await registry.CreateModelVersion(request)
        await store.append(job_id_of(request.model_version.lineage.training_job), [Event(
            model_version_registered=Event.ModelVersionRegistered(model_version=version.name))],
            only_if=lambda job: not job.model_version)

    async def to_history(payload: bytes, key: str) -> None:
        request = history_service_pb2.RecordSessionRequest.FromString(payload)
        request.request_id = key
        await peers.history().RecordSession(request)

    async def to_registry_metrics(payload: bytes, key: str) -> None:
        await record_on_version(peers.registry(), trainer_service_pb2.EvaluateResponse.FromString(payload))

    outbox = Outbox(db, outbox_table, {REGISTER_TOPIC: register_job, REGISTRY_TOPIC: to_registry,
                                       HISTORY_TOPIC: to_history,
                                       EVALUATION_TOPIC: to_registry_metrics},
                    poll_interval=settings.trainer_outbox_poll_seconds,
                    max_backoff=settings.trainer_outbox_max_backoff_seconds)
    store.side_effects.append(Records(outbox).on_events)
    cluster = _cluster_limits(settings)
    scheduler = Scheduler(
        store, peers, devices=discover_devices(settings.trainer_devices), home=settings.home,
        artifact_root=settings.resolved_artifact_root(),
        cpu_threads=settings.trainer_cpu_threads or os.cpu_count() or 1,
        cancel_grace_seconds=settings.trainer_cancel_grace_seconds,
        flush_interval=settings.trainer_event_flush_seconds,
        distributed_timeout_seconds=settings.trainer_distributed_timeout_seconds,
        remote=_remote(settings, store, cluster), instance=settings.trainer_instance,
        lease_seconds=settings.trainer_lease_seconds, version_cache_bytes=settings.trainer_version_cache_bytes,
        version_cache_idle_seconds=settings.trainer_version_cache_idle_seconds)
    servicer = TrainerServicer(db, store, scheduler, peers, outbox, cluster=cluster)
    server = build_server(
        [ServiceBinding(FULL_NAME, trainer_service_pb2_grpc.add_TrainerServiceServicer_to_server, servicer)],
        authenticator=TokenAuthenticator.from_file(settings.resolved_tokens_file()),
        host=settings.host,
        port=settings.port,
        max_message_bytes=settings.max_message_bytes,
        error_domain="trainer.lathe.dev",
    )
    await scheduler.start()
    outbox.start()
    # Stopped in reverse order: the relay and the workers before the channels and the database.
    server.on_stop.extend([db.dispose, peers.close, outbox.stop, scheduler.stop])
    server.outbox = outbox  # type: ignore[attr-defined]
    server.scheduler = scheduler  # type: ignore[attr-defined]
    return server


def _cluster_limits(settings: TrainerSettings) -> ClusterLimits | None:
    """Which jobs run as Kubeflow PyTorchJobs, and in what pods; None unless configured for Kubernetes."""
    if not settings.trainer_kubernetes_namespace:
        return None
    return ClusterLimits(min_world_size=settings.trainer_kubernetes_min_world_size,
                         max_world_size=settings.trainer_kubernetes_max_world_size,
                         ranks_per_pod=settings.trainer_kubernetes_ranks_per_pod)


def _remote(settings: TrainerSettings, store: JobStore, limits: ClusterLimits | None) -> RemoteWorkers | None:
    """Where large jobs run as Kubeflow PyTorchJobs, when the trainer is configured for Kubernetes. The pods get
    the trainer's own artifact-store settings (endpoint, region), so they read and write the same store."""
    if limits is None:
        return None
    if not settings.resolved_artifact_root().startswith("s3://"):
        # Pods read their staged inputs and write checkpoints there: a trainer-local store is out of their reach.
        structlog.get_logger("lathe.trainer").warning(
            "kubernetes_jobs_need_a_shared_artifact_store", artifact_root=settings.resolved_artifact_root())
    return RemoteWorkers(
        store, KubectlCluster(settings.trainer_kubectl), namespace=settings.trainer_kubernetes_namespace,
        image=settings.trainer_kubernetes_image,
        trainer_address=settings.trainer_kubernetes_trainer_address or settings.trainer_address,
        limits=limits, poll_seconds=settings.trainer_kubernetes_poll_seconds,
        service_account=settings.trainer_kubernetes_service_account,
        environment={name: os.environ[name] for name in STORE_ENVIRONMENT if os.environ.get(name)})
