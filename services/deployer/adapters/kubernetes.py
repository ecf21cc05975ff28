"""The Kubernetes target: render a Deployment + Service (or a KServe InferenceService) and apply it.

The pods run the deployer's own model server, which fetches the artifact from the shared store and
verifies its sha256 before loading (the digest is passed in the environment). Applying goes through an
:class:`Applier`: ``DryRunApplier`` validates and writes the manifests (no cluster is reachable here);
``KubectlApplier`` pipes them to ``kubectl apply``.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any, Protocol

from lathe.deployer.v1 import target_options_pb2
from lathe.kit.s3 import store_settings

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
K8s = target_options_pb2.KubernetesOptions


# The suite's Secret (deploy/k8s: created by the operator in prod, generated unhashed in dev) with the S3 keys.
# The store's other settings are copied from the deployer's own environment (lathe.kit.s3.store_settings):
# the suite's ConfigMap cannot be named here, kustomize suffixes its name with a content hash.
SECRET = "lathe-secrets"


def s3_credentials() -> list[dict[str, Any]]:
    """Environment entries that give a model-server pod the suite's S3 keys (absent keys are skipped, for
    clusters where pods get an S3 identity of their own, e.g. IRSA or Workload Identity)."""
    return [{"name": name, "valueFrom": {"secretKeyRef": {"name": SECRET, "key": key, "optional": True}}}
            for name, key in (("AWS_ACCESS_KEY_ID", "s3-access-key-id"),
                              ("AWS_SECRET_ACCESS_KEY", "s3-secret-access-key"))]


def render(*, deployment_id: str, revision: int, model_version: str, artifact_uri: str, manifest_digest: str,
           kind: str, options: target_options_pb2.KubernetesOptions, namespace: str, image: str,
           max_batch_size: int, max_queue_delay_ms: float) -> list[dict[str, Any]]:
    """The objects serving ``model_version`` for the deployment, labelled with ``lathe.dev/*``."""
    labels = {**dict(options.labels), "app.kubernetes.io/name": "lathe-model", "app.kubernetes.io/instance":
              deployment_id, "lathe.dev/deployment": deployment_id, "lathe.dev/revision": str(revision)}
    selector = {"lathe.dev/deployment": deployment_id}
    meta = {"name": deployment_id, "namespace": options.namespace or namespace, "labels": labels,
            "annotations": {**dict(options.annotations), "lathe.dev/model-version": model_version,
                            "lathe.dev/manifest-digest": manifest_digest}}
    env = [{"name": "LATHE_MODEL_VERSION", "value": model_version},
           {"name": "LATHE_MODEL_KIND", "value": kind},
           {"name": "LATHE_MODEL_NAME", "value": deployment_id},
           {"name": "LATHE_REVISION", "value": str(revision)},
           {"name": "LATHE_PORT", "value": "8001"},
           {"name": "LATHE_WORK_DIR", "value": "/work/model"},
           {"name": "LATHE_ARTIFACT_URI", "value": artifact_uri},
           {"name": "LATHE_ARTIFACT_DIGEST", "value": manifest_digest},
           {"name": "LATHE_MAX_BATCH_SIZE", "value": str(options.batching.max_batch_size or max_batch_size)},
           {"name": "LATHE_MAX_QUEUE_DELAY_MS", "value": str(
               options.batching.max_queue_delay.ToMilliseconds() if options.HasField("batching")
               and options.batching.HasField("max_queue_delay") else max_queue_delay_ms)}]
    if artifact_uri.startswith("s3://"):
        env += [{"name": name, "value": value} for name, value in sorted(store_settings().items())]
        env += s3_credentials()
    limits = dict(options.resource_limits)
    if options.gpu_count:
        limits["nvidia.com/gpu"] = str(options.gpu_count)
    probe = {"grpc": {"port": 8001}, "periodSeconds": 10}
    container: dict[str, Any] = {
        "name": "model-server", "image": options.image or image,
        "args": ["python", "-m", "services.deployer", "serve-model"],
        "ports": [{"name": "grpc", "containerPort": 8001}], "env": env,
        "resources": {"requests": dict(options.resource_requests), "limits": limits},
        "readinessProbe": probe, "livenessProbe": {**probe, "initialDelaySeconds": 30},
        "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                            "allowPrivilegeEscalation": False},
        # The root filesystem is read-only: the verified copy of the model goes to a scratch volume.
        "volumeMounts": [{"name": "model", "mountPath": "/work/model"}],
    }
    pod: dict[str, Any] = {"containers": [container], "volumes": [{"name": "model", "emptyDir": {}}]}
    if options.node_selector:
        pod["nodeSelector"] = dict(options.node_selector)
    if options.tolerations:
        pod["tolerations"] = [{k: v for k, v in {"key": t.key, "operator": t.operator or "Equal", "value": t.value,
                                                 "effect": t.effect}.items() if v} for t in options.tolerations]
    if options.service_account:
        pod["serviceAccountName"] = options.service_account
    if options.workload == K8s.WORKLOAD_KSERVE_INFERENCE_SERVICE:
        predictor = {"minReplicas": options.replicas or 1, "containers": [container], **{
            k: v for k, v in pod.items() if k != "containers"}}
        return [{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": meta,
                 "spec": {"predictor": predictor}}]
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
         "spec": {"replicas": options.replicas or 1, "selector": {"matchLabels": selector},
                  "template": {"metadata": {"labels": labels}, "spec": pod}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"selector": selector, "ports": [{"name": "grpc", "port": 8001, "targetPort": "grpc"}]}},
    ]


def validate(objects: list[dict[str, Any]]) -> None:
    """ValueError for what the API server would refuse: bad names, labels, missing fields."""
    for obj in objects:
        meta = obj["metadata"]
        if not _NAME.match(meta["name"]) or len(meta["name"]) > 63:
            raise ValueError(f"{obj['kind']} name {meta['name']!r} is not a DNS-1123 label")
        for key, value in meta["labels"].items():
            if len(value) > 63 or (value and not re.match(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", value)):
                raise ValueError(f"label {key}={value!r} is not a valid label value")
        if obj["kind"] in ("Deployment", "InferenceService") and not obj["spec"]:
            raise ValueError(f"{obj['kind']} has no spec")


class Applier(Protocol):
    """Applies rendered objects to a cluster (or pretends nothing, in dry-run, and says so)."""

    dry_run: bool

    async def apply(self, objects: list[dict[str, Any]], folder: Path) -> str:
        """Apply ``objects``; returns a one-line description of what happened."""

    async def delete(self, objects: list[dict[str, Any]]) -> None:
        """Remove ``objects``."""


def write_manifests(objects: list[dict[str, Any]], folder: Path) -> Path:
    """The objects as one ``v1/List`` JSON document (``kubectl apply -f`` reads it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifests.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2, sort_keys=True))
    return path


class DryRunApplier:
    """Validates and writes the manifests; applies nothing (no cluster is configured)."""

    dry_run = True

    async def apply(self, objects: list[dict[str, Any]], folder: Path) -> str:
        """Validate and write; returns where."""
        validate(objects)
        path = write_manifests(objects, folder)
        kinds = ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in objects)
        return f"dry-run: rendered and validated {kinds} into {path}; not applied (no cluster configured)"

    async def delete(self, objects: list[dict[str, Any]]) -> None:
        """Nothing was applied, so nothing is removed."""


class KubectlApplier:
    """Applies through ``kubectl apply -f`` with the deployer's kubeconfig."""

    dry_run = False

    async def apply(self, objects: list[dict[str, Any]], folder: Path) -> str:
        """``kubectl apply``; RuntimeError with kubectl's message on failure."""
        validate(objects)
        path = write_manifests(objects, folder)
        process = await asyncio.create_subprocess_exec("kubectl", "apply", "-f", str(path),
                                                       stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
        if process.returncode:
            raise RuntimeError(f"kubectl apply failed: {err.decode().strip()}")
        return out.decode().strip()

    async def delete(self, objects: list[dict[str, Any]]) -> None:
        """``kubectl delete`` of the objects."""
        for obj in objects:
            process = await asyncio.create_subprocess_exec(
                "kubectl", "delete", obj["kind"].lower(), obj["metadata"]["name"], "-n",
                obj["metadata"]["namespace"], "--ignore-not-found")
            await process.wait()
