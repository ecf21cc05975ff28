"""The target interface and its five implementations: prepare (load/export/apply), check, activate, retire."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lathe.deployer.v1 import deployment_pb2, target_options_pb2
from services.deployer.adapters import exports, kubernetes
from services.deployer.adapters.runtimes import Runtime, load_runtime, probe_blocking
from services.deployer.adapters.serving import Served, ServingTable
from services.deployer.settings import DeployerSettings

T = deployment_pb2.Deployment


@dataclass
class Job:
    """What a target needs to prepare one revision."""

    deployment_id: str
    revision: int
    model_version: str
    kind: str
    folder: Path
    work: Path
    options: target_options_pb2.TargetOptions
    artifact_uri: str = ""
    manifest_digest: str = ""
    probe_text: str = ""


@dataclass
class Prepared:
    """A prepared revision: a loaded runtime, or the folder an export/manifest was written to."""

    job: Job
    runtime: Runtime | None = None
    output: Path | None = None
    objects: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


class Target(Protocol):
    """Where a deployment puts its model."""

    serves: bool

    async def prepare(self, job: Job) -> Prepared:
        """Load, export or apply the verified artifact (the LOADING step); raises to fail the rollout."""

    async def check(self, prepared: Prepared) -> str:
        """The health check: a real inference on the probe; raises ProbeFailed (or any error) when it fails."""

    async def activate(self, prepared: Prepared, canary_percent: int) -> None:
        """Switch traffic to the revision (as canary when ``canary_percent``)."""

    async def retire(self, prepared: Prepared) -> None:
        """Release what the revision holds (unload, remove)."""


class LocalTarget:
    """Serve in-process over the Open Inference Protocol."""

    serves = True

    def __init__(self, table: ServingTable, settings: DeployerSettings) -> None:
        self.table = table
        self._settings = settings

    async def prepare(self, job: Job) -> Prepared:
        """Load the model on its device with its batching settings."""
        local = job.options.local
        size = local.batching.max_batch_size or self._settings.default_max_batch_size
        delay = (local.batching.max_queue_delay.ToTimedelta().total_seconds()
                 if local.batching.HasField("max_queue_delay") else self._settings.default_max_queue_delay_ms / 1000)
        runtime = await asyncio.to_thread(load_runtime, job.folder, job.kind, device=local.device or _device(),
                                          max_batch_size=size, max_queue_delay=delay,
                                          name=f"{job.deployment_id}-{job.revision}")
        return Prepared(job, runtime=runtime)

    async def check(self, prepared: Prepared) -> str:
        """Run the probe on the model's own worker thread, as served requests run."""
        runtime = prepared.runtime
        assert runtime is not None
        return await runtime.batcher.run_alone_fn(probe_blocking, runtime, prepared.job.probe_text)

    async def activate(self, prepared: Prepared, canary_percent: int) -> None:
        """Put the runtime in the serving table."""
        assert prepared.runtime is not None
        served = Served(prepared.job.revision, prepared.job.model_version, prepared.runtime)
        if canary_percent:
            self.table.set_canary(prepared.job.deployment_id, served, canary_percent)
        else:
            self.table.set_current(prepared.job.deployment_id, served)

    async def retire(self, prepared: Prepared) -> None:
        """Unload the runtime."""
        if prepared.runtime is not None:
            await prepared.runtime.close()


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class ExportTarget:
    """Hugging Face, ONNX and Ollama exports: write a folder, check it with its own runtime."""

    serves = False

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def _out(self, job: Job) -> Path:
        member = getattr(job.options, self.kind)
        if member.output_uri:
            return Path(member.output_uri.removeprefix("file://"))
        return job.work / self.kind

    async def prepare(self, job: Job) -> Prepared:
        """Write the export."""
        out = self._out(job)
        if self.kind == "huggingface":
            await asyncio.to_thread(exports.export_huggingface, job.folder, job.kind, out)
        elif self.kind == "onnx":
            await asyncio.to_thread(exports.export_onnx, job.folder, job.kind, out, job.options.onnx.opset_version,
                                    job.probe_text)
        else:
            o = job.options.ollama
            await asyncio.to_thread(exports.export_ollama, job.folder, job.kind, out, parameters=dict(o.parameters),
                                    system_prompt=o.system_prompt, quantization=o.quantization,
                                    model_tag=o.model_tag or f"lathe/{job.deployment_id}")
        return Prepared(job, output=out)

    async def check(self, prepared: Prepared) -> str:
        """Load the export with its runtime and compare with the source model."""
        job, out = prepared.job, prepared.output
        assert out is not None
        if self.kind == "huggingface":
            return await asyncio.to_thread(exports.check_huggingface, job.folder, job.kind, out, job.probe_text)
        if self.kind == "onnx":
            tolerance = job.options.onnx.max_abs_diff or 1e-4
            return await asyncio.to_thread(exports.check_onnx, job.folder, job.kind, out, job.probe_text, tolerance)
        return await asyncio.to_thread(exports.check_ollama, job.folder, out, job.probe_text)

    async def activate(self, prepared: Prepared, canary_percent: int) -> None:
        """Nothing to switch: the export is the result."""

    async def retire(self, prepared: Prepared) -> None:
        """Exports stay where they were written until the deployment is deleted."""


class KubernetesTarget:
    """Render and apply a Deployment/Service or a KServe InferenceService."""

    serves = True

    def __init__(self, settings: DeployerSettings, applier: kubernetes.Applier) -> None:
        self._settings = settings
        self.applier = applier

    async def prepare(self, job: Job) -> Prepared:
        """Render the manifests and apply them through the applier."""
        objects = kubernetes.render(
            deployment_id=job.deployment_id, revision=job.revision, model_version=job.model_version,
            artifact_uri=job.artifact_uri, manifest_digest=job.manifest_digest, kind=job.kind,
            options=job.options.kubernetes, namespace=self._settings.kubernetes_namespace,
            image=self._settings.kubernetes_image, max_batch_size=self._settings.default_max_batch_size,
            max_queue_delay_ms=self._settings.default_max_queue_delay_ms)
        note = await self.applier.apply(objects, job.work / "kubernetes")
        return Prepared(job, output=job.work / "kubernetes", objects=objects, note=note)

    async def check(self, prepared: Prepared) -> str:
        """Probe the verified model as the pods will run it (the cluster's own readiness is not observable here)."""
        job = prepared.job
        runtime = await asyncio.to_thread(load_runtime, job.folder, job.kind, device="cpu", max_batch_size=1,
                                          max_queue_delay=0.0, name=f"{job.deployment_id}-k8s-check")
        try:
            message = await runtime.batcher.run_alone_fn(probe_blocking, runtime, job.probe_text)
        finally:
            await runtime.close()
        return f"{message}; {prepared.note}"

    async def activate(self, prepared: Prepared, canary_percent: int) -> None:
        """Applied objects already route traffic through their Service."""

    async def retire(self, prepared: Prepared) -> None:
        """Objects are replaced in place by the next apply; nothing to do per revision."""


def build_targets(table: ServingTable, settings: DeployerSettings) -> dict[int, Target]:
    """One target per Deployment.Target value."""
    applier = kubernetes.DryRunApplier() if settings.kubernetes_apply == "dry-run" else kubernetes.KubectlApplier()
    return {T.TARGET_LOCAL: LocalTarget(table, settings), T.TARGET_KUBERNETES: KubernetesTarget(settings, applier),
            T.TARGET_HUGGINGFACE: ExportTarget("huggingface"), T.TARGET_ONNX: ExportTarget("onnx"),
            T.TARGET_OLLAMA: ExportTarget("ollama")}


def remove_folder(path: Path) -> None:
    """Remove a folder the deployer wrote (ignoring one already gone)."""
    shutil.rmtree(path, ignore_errors=True)
