"""A deployer process killed with SIGKILL comes back serving what it served, re-verified; a tampered copy is refused.

The deployer runs as its own process (``python -m services.deployer``) against a real registry and the
test database, so the restart is a real one: nothing survives but the database and the deployer's folder.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2

from inference import grpc_predict_v2_pb2 as pb
from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from lathe.deployer.v1 import deployer_service_pb2 as ds
from lathe.deployer.v1 import deployment_pb2, deployment_revision_pb2
from lathe.deployer.v1.deployer_service_pb2_grpc import DeployerServiceStub
from lathe.kit.clients import create_channel
from lathe.kit.errors import from_rpc_error
from lathe.kit.manifest import folder_manifest
from lathe.registry.v1 import model_pb2, model_version_pb2
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub
from tests.deployer.integration.conftest import write_gpt
from tests.deployer.integration.test_serving import generate_request, text_of

D = deployment_pb2.Deployment
R = deployment_revision_pb2.DeploymentRevision
ROOT = Path(__file__).resolve().parents[3]
PAD_BYTES = 24 << 20  # makes the second rollout's copy-and-hash step long enough to be killed during it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DeployerProcess:
    """``python -m services.deployer`` with LATHE_* settings; the same port, home and database every start."""

    def __init__(self, tmp: Path, database_url: str | None, registry_address: str, tokens) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.home = tmp / "deployer-home"
        self.env = {**os.environ, "LATHE_PORT": str(self.port), "LATHE_HOME": str(self.home),
                    "LATHE_TOKENS_FILE": str(tokens.file), "LATHE_REGISTRY_ADDRESS": registry_address,
                    "LATHE_SERVICE_TOKEN": tokens.service, "LATHE_HISTORY_ADDRESS": "127.0.0.1:9",
                    "LATHE_DATABASE_SCHEMA": f"deployer_{uuid.uuid4().hex[:10]}", "LATHE_LOG_FORMAT": "json",
                    "LATHE_DRAIN_SECONDS": "0.2", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        if database_url:
            self.env["LATHE_DATABASE_URL"] = database_url
        self.log = tmp / "deployer.log"
        self.process: subprocess.Popen | None = None
        self.channel: grpc.aio.Channel | None = None

    async def start(self, token: str) -> tuple[DeployerServiceStub, GRPCInferenceServiceStub]:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "services.deployer"], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        self.channel = create_channel(self.address, token=token, default_timeout=20)
        deployer, infer = DeployerServiceStub(self.channel), GRPCInferenceServiceStub(self.channel)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:  # the process is up once its inference API answers (ready or not)
            assert self.process.poll() is None, f"the deployer exited: {self.log.read_text()[-3000:]}"
            try:
                await infer.ServerLive(pb.ServerLiveRequest(), timeout=1)
                return deployer, infer
            except grpc.aio.AioRpcError:
                assert loop.time() < deadline, self.log.read_text()[-3000:]
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        if self.channel is not None:
            await self.channel.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
async def world(start_service, channel_to, tokens, tmp_path, database_url):
    registry = await start_service("registry", sync_verify_max_bytes=1 << 30)
    stub = RegistryServiceStub(channel_to(registry, token=tokens.alice))
    await stub.CreateModel(rs.CreateModelRequest(model_id="tiny-gpt", model=model_pb2.Model()))
    process = DeployerProcess(tmp_path, database_url, registry.address, tokens)
    yield stub, process
    process.stop()


async def register(registry: RegistryServiceStub, folder: Path) -> model_version_pb2.ModelVersion:
    manifest = model_version_pb2.Manifest()
    for entry in folder_manifest(folder):
        manifest.files.add(path=entry.path, size_bytes=entry.size_bytes, sha256=entry.sha256)
    version = await registry.CreateModelVersion(rs.CreateModelVersionRequest(
        parent="models/tiny-gpt", model_version=model_version_pb2.ModelVersion(
            artifact_uri=folder.as_uri(), manifest=manifest, recipe="causal-lm")))
    assert version.state == model_version_pb2.ModelVersion.STATE_READY, version.error
    return version


async def settle(deployer: DeployerServiceStub, name: str, limit: float = 60) -> D:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        d = await deployer.GetDeployment(ds.GetDeploymentRequest(name=name))
        if not d.pending_revision and d.state not in (D.STATE_PENDING, D.STATE_VERIFYING, D.STATE_LOADING,
                                                      D.STATE_HEALTH_CHECKING):
            return d
        assert loop.time() < deadline, f"{name} still rolling out: {d}"
        await asyncio.sleep(0.05)


async def until_ready(infer: GRPCInferenceServiceStub, limit: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not (await infer.ServerReady(pb.ServerReadyRequest())).ready:
        assert loop.time() < deadline, "the restarted deployer never became ready"
        await asyncio.sleep(0.05)


async def test_after_sigkill_the_served_model_comes_back_and_an_interrupted_rollout_fails(world, tokens, tmp_path):
    registry, process = world
    v1 = await register(registry, write_gpt(tmp_path / "gpt-a", seed=1))
    padded = write_gpt(tmp_path / "gpt-b", seed=2)
    (padded / "padding.bin").write_bytes(b"\0" * PAD_BYTES)
    v2 = await register(registry, padded)
    deployer, infer = await process.start(tokens.alice)
    await deployer.CreateDeployment(ds.CreateDeploymentRequest(
        deployment_id="chat", deployment=D(model_version=v1.name, target=D.TARGET_LOCAL)))
    before = await settle(deployer, "deployments/chat")
    assert before.state == D.STATE_SERVING, before.error
    answer = text_of(await infer.ModelInfer(generate_request("chat", "hello there", seed=11)))

    # A roll forward is under way when the process dies.
    await deployer.UpdateDeployment(ds.UpdateDeploymentRequest(
        deployment=D(name="deployments/chat", model_version=v2.name),
        update_mask=field_mask_pb2.FieldMask(paths=["model_version"])))
    await process.kill()

    deployer, infer = await process.start(tokens.alice)
    # A deployment created the moment the restarted deployer answers is this process's own rollout: the
    # recovery (which read the killed process's leftovers before the server started) must not settle it as
    # interrupted, nor remove its folder while it is being copied.
    await deployer.CreateDeployment(ds.CreateDeploymentRequest(
        deployment_id="fresh", deployment=D(model_version=v1.name, target=D.TARGET_LOCAL)))
    await until_ready(infer)
    assert (await infer.ModelReady(pb.ModelReadyRequest(name="chat"))).ready
    fresh = await settle(deployer, "deployments/fresh")
    assert fresh.state == D.STATE_SERVING and not fresh.error.message, fresh.error
    again = await infer.ModelInfer(generate_request("chat", "hello there", seed=11))
    assert text_of(again) == answer and again.model_version == "1"
    d = await deployer.GetDeployment(ds.GetDeploymentRequest(name="deployments/chat"))
    assert d.current_revision == "deployments/chat/revisions/1" and d.resolved_model_version == v1.name
    assert d.state == D.STATE_ROLLED_BACK and not d.pending_revision
    assert d.error.details and b"ROLLOUT_INTERRUPTED" in d.error.details[0].value
    assert d.health.outcome == d.health.OUTCOME_PASSED
    assert d.health.check_time.ToNanoseconds() > before.health.check_time.ToNanoseconds()  # probed again
    interrupted = await deployer.GetDeploymentRevision(ds.GetDeploymentRevisionRequest(
        name="deployments/chat/revisions/2"))
    assert interrupted.state == R.STATE_FAILED and "interrupted by deployer restart" in interrupted.error.message
    # Nothing is stuck: the version rolls out now that nothing interrupts it.
    await deployer.UpdateDeployment(ds.UpdateDeploymentRequest(
        deployment=D(name="deployments/chat", model_version=v2.name),
        update_mask=field_mask_pb2.FieldMask(paths=["model_version"])))
    d = await settle(deployer, "deployments/chat")
    assert d.state == D.STATE_SERVING and d.resolved_model_version == v2.name, d.error


async def test_a_verified_copy_changed_while_stopped_is_refused_after_a_restart(world, tokens, tmp_path):
    registry, process = world
    version = await register(registry, write_gpt(tmp_path / "gpt", seed=3))
    deployer, infer = await process.start(tokens.alice)
    await deployer.CreateDeployment(ds.CreateDeploymentRequest(
        deployment_id="chat", deployment=D(model_version=version.name, target=D.TARGET_LOCAL)))
    assert (await settle(deployer, "deployments/chat")).state == D.STATE_SERVING
    answer = text_of(await infer.ModelInfer(generate_request("chat", "hi", seed=5)))
    await process.kill()

    copy = process.home / "deployer" / "deployments" / "chat" / "revisions" / "1" / "artifact"
    weights = max((p for p in copy.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))

    deployer, infer = await process.start(tokens.alice)
    await until_ready(infer)
    assert not (await infer.ModelReady(pb.ModelReadyRequest(name="chat"))).ready
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await infer.ModelInfer(generate_request("chat", "hi", seed=5))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert from_rpc_error(refused.value).reason == "MODEL_NOT_RESTORED"
    assert "ARTIFACT_CHECKSUM_MISMATCH" in refused.value.details()
    d = await deployer.GetDeployment(ds.GetDeploymentRequest(name="deployments/chat"))
    assert d.state == D.STATE_FAILED and not d.current_revision
    assert b"ARTIFACT_CHECKSUM_MISMATCH" in d.error.details[0].value
    assert weights.relative_to(copy).as_posix() in d.error.message
    revision = await deployer.GetDeploymentRevision(ds.GetDeploymentRevisionRequest(
        name="deployments/chat/revisions/1"))
    assert revision.state == R.STATE_FAILED and "changed while the deployer was stopped" in revision.error.message

    # The registry's own copy is intact: rolling back to the revision fetches and verifies it afresh.
    await deployer.RollbackDeployment(ds.RollbackDeploymentRequest(
        name="deployments/chat", revision="deployments/chat/revisions/1", reason="restore from the registry"))
    d = await settle(deployer, "deployments/chat")
    assert d.state == D.STATE_SERVING and d.current_revision == "deployments/chat/revisions/2", d.error
    assert text_of(await infer.ModelInfer(generate_request("chat", "hi", seed=5))) == answer
