"""Periodic health checks of serving revisions: run on the configured period, recorded on the deployment,
and a failing revision is marked unhealthy without moving traffic (as the contract says)."""

from __future__ import annotations

import asyncio

import grpc
import torch
from google.protobuf import duration_pb2, field_mask_pb2

from inference import grpc_predict_v2_pb2 as pb
from lathe.deployer.v1 import deployer_service_pb2 as ds
from lathe.deployer.v1 import deployment_pb2, health_check_pb2
from tests.deployer.integration.conftest import Suite, expect

D = deployment_pb2.Deployment
H = health_check_pb2.HealthCheckResult


def every(seconds: float) -> health_check_pb2.HealthCheckConfig:
    config = health_check_pb2.HealthCheckConfig()
    config.period.FromNanoseconds(int(seconds * 1e9))
    return config


async def wait_for(suite: Suite, name: str, predicate, limit: float = 20) -> D:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        d = await suite.deployer.GetDeployment(ds.GetDeploymentRequest(name=name))
        if predicate(d):
            return d
        assert loop.time() < deadline, f"{name} never reached the expected health: {d.health}"
        await asyncio.sleep(0.05)


async def test_serving_revisions_are_rechecked_on_their_period_and_marked_unhealthy(
        start_service, channel_to, tokens, tmp_path):
    registry = await start_service("registry", sync_verify_max_bytes=1 << 30)
    deployer = await start_service("deployer", registry_address=registry.address, service_token=tokens.service,
                                   health_check_min_period_seconds=0.2)
    suite = Suite(registry, deployer, channel_to, tokens, tmp_path)
    version = await suite.gpt_version()

    error = await expect(suite.create("chat", version.name, health_check_config=every(0.05)),
                         grpc.StatusCode.INVALID_ARGUMENT)
    assert error.field_violations[0].field == "deployment.health_check_config.period"
    await suite.create("chat", version.name, health_check_config=every(0.3))
    gated = await suite.settle("deployments/chat")
    assert gated.state == D.STATE_SERVING and gated.health.outcome == H.OUTCOME_PASSED

    # Checks keep running after the gating one, and an observation moves neither the etag nor update_time.
    later = await wait_for(suite, "deployments/chat",
                           lambda d: d.health.check_time.ToNanoseconds() > gated.health.check_time.ToNanoseconds())
    assert later.health.outcome == H.OUTCOME_PASSED and later.health.latency.ToNanoseconds() > 0
    assert later.etag == gated.etag and later.update_time == gated.update_time

    # The loaded model goes bad in memory (as a corrupted GPU buffer would): the next checks fail.
    model = deployer.rollouts._active[("chat", 1)].prepared.runtime.model
    saved = model.wte.weight.detach().clone()
    with torch.no_grad():
        model.wte.weight.fill_(float("nan"))
    sick = await wait_for(suite, "deployments/chat", lambda d: d.health.outcome == H.OUTCOME_FAILED)
    assert "consecutive periodic check" in sick.health.message and "non-finite" in sick.health.message
    # Marked, not moved: the revision still takes the traffic and the deployment is still SERVING.
    assert sick.state == D.STATE_SERVING and sick.current_revision == "deployments/chat/revisions/1"
    assert (await suite.infer.ModelReady(pb.ModelReadyRequest(name="chat"))).ready

    # It recovers, and the next passing check says so.
    with torch.no_grad():
        model.wte.weight.copy_(saved)
    healthy = await wait_for(suite, "deployments/chat", lambda d: d.health.outcome == H.OUTCOME_PASSED)
    assert healthy.health.message == ""

    # Period 0 turns the checks off: the result stops changing.
    await suite.deployer.UpdateDeployment(ds.UpdateDeploymentRequest(
        deployment=D(name="deployments/chat", health_check_config=health_check_pb2.HealthCheckConfig(
            period=duration_pb2.Duration())),
        update_mask=field_mask_pb2.FieldMask(paths=["health_check_config"])))
    await asyncio.sleep(0.7)
    first = await suite.deployer.GetDeployment(ds.GetDeploymentRequest(name="deployments/chat"))
    await asyncio.sleep(0.8)
    second = await suite.deployer.GetDeployment(ds.GetDeploymentRequest(name="deployments/chat"))
    assert first.health.check_time == second.health.check_time
