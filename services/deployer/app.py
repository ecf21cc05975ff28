"""Composition root of the deployer: settings → database → outbox → targets → servicers → one server."""

from __future__ import annotations

from pathlib import Path

from inference import grpc_predict_v2_pb2, grpc_predict_v2_pb2_grpc
from lathe.deployer.v1 import deployer_service_pb2, deployer_service_pb2_grpc
from lathe.history.v1 import history_service_pb2
from lathe.kit.auth import TokenAuthenticator
from lathe.kit.outbox import Outbox
from lathe.kit.peers import Peers
from lathe.kit.server import GrpcServer, ServiceBinding, build_server
from lathe.kit.service import open_database
from lathe.registry.v1 import registry_service_pb2
from services.deployer.adapters.serving import ServingTable
from services.deployer.adapters.tables import outbox as outbox_table
from services.deployer.api.inference import InferenceServicer
from services.deployer.api.recovery import Recovery
from services.deployer.api.rollouts import HISTORY_TOPIC, REGISTRY_TOPIC, Rollouts
from services.deployer.api.servicer import DeployerServicer
from services.deployer.api.targets import build_targets
from services.deployer.settings import DeployerSettings

SERVICE = "deployer"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FULL_NAME = deployer_service_pb2.DESCRIPTOR.services_by_name["DeployerService"].full_name
INFERENCE_NAME = grpc_predict_v2_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name


async def build(settings: DeployerSettings) -> GrpcServer:
    """Wire the deployer from ``settings``: database, outbox to registry and history, targets, server."""
    db = await open_database(settings, SERVICE, MIGRATIONS)
    peers = Peers.from_settings(settings)

    async def to_registry(payload: bytes, key: str) -> None:
        request = registry_service_pb2.RecordDeploymentRequest.FromString(payload)
        request.request_id = key
        await peers.registry().RecordDeployment(request)

    async def to_history(payload: bytes, key: str) -> None:
        request = history_service_pb2.RecordLifecycleEventRequest.FromString(payload)
        request.request_id = key
        await peers.history().RecordLifecycleEvent(request)

    outbox = Outbox(db, outbox_table, {REGISTRY_TOPIC: to_registry, HISTORY_TOPIC: to_history})
    table = ServingTable()
    address: list[str] = []
    rollouts = Rollouts(db, outbox, peers, build_targets(table, settings), root=settings.resolved_deploy_root(),
                        address=lambda: address[0] if address else "",
                        health_timeout=settings.health_check_timeout_seconds, drain_seconds=settings.drain_seconds,
                        health_idle_poll=max(settings.health_check_min_period_seconds, 1.0))
    servicer = DeployerServicer(db, rollouts, table, min_health_period=settings.health_check_min_period_seconds)
    # Before the server starts: until the recovery knows what served before, models answer UNAVAILABLE.
    recovery = Recovery(db, rollouts, table)
    server = build_server(
        [ServiceBinding(FULL_NAME, deployer_service_pb2_grpc.add_DeployerServiceServicer_to_server, servicer),
         ServiceBinding(INFERENCE_NAME, grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server,
                        InferenceServicer(table))],
        authenticator=TokenAuthenticator.from_file(settings.resolved_tokens_file()),
        host=settings.host,
        port=settings.port,
        max_message_bytes=settings.max_message_bytes,
        error_domain="deployer.lathe.dev",
    )
    address.append(server.address)
    # What the previous process left is read before the server answers: a deployment created right after
    # start-up is then never mistaken for an interrupted rollout (and its folder removed under it).
    await recovery.scan()
    outbox.start()
    recovery.start()
    # Stopped in reverse order: recovery, rollouts and models, then the relay, then channels and the database.
    server.on_stop.extend([db.dispose, peers.close, outbox.stop, rollouts.stop, recovery.stop])
    server.outbox = outbox  # type: ignore[attr-defined]
    server.rollouts = rollouts  # type: ignore[attr-defined]
    server.recovery = recovery  # type: ignore[attr-defined]
    return server
