"""A training job larger than one pod, rendered as a Kubeflow ``PyTorchJob`` (``kubeflow.org/v1``).

On one machine the scheduler runs a ``world_size`` N job through ``torchrun --standalone`` (see
:mod:`services.trainer.adapters.scheduler`). When the trainer is configured for Kubernetes, a job large
enough runs as a Kubeflow training-operator ``PyTorchJob`` instead: one ``Master`` replica and ``pods - 1``
``Worker`` replicas, every pod running the same entry point as locally, PyTorch's launcher
(``python -m services.trainer.launch --nproc-per-node=<GPUs per pod> … -m services.trainer.worker spec``).
The training operator injects ``PET_NNODES``, ``PET_NODE_RANK``, ``PET_MASTER_ADDR`` and ``PET_MASTER_PORT``
into each pod, and torchrun reads its rendezvous arguments from those variables, so the rendered command
names only what Lathe decides (ranks per pod, no torchrun restarts). The worker's spec (the job, its
resolved configuration, the artifact root) travels in a ConfigMap rendered next to the PyTorchJob and
mounted read-only. It names no folder of the trainer's, which a pod cannot see: the snapshot's files (and a
fine-tune's parent version) are staged in the artifact store and named by URI and sha256, and each pod's
worker fetches them, verified, into its scratch volume, an ``emptyDir`` at :data:`SCRATCH_MOUNT` that is
also its work folder (the root filesystem is read-only); see :mod:`services.trainer.adapters.staging`. The
pods get the trainer's own artifact-store settings (:data:`STORE_ENVIRONMENT`) as values and the S3 keys
from the ``lathe-secrets`` Secret. Restarts are the trainer's, as for a local worker:
``runPolicy.backoffLimit`` is 0, and the trainer submits each restart as a new attempt (a new
``…-a<attempt>`` PyTorchJob) resuming from the job's last checkpoint, so ``max_restarts`` is counted once,
in the job.

How progress reaches the trainer's event log: rank 0 of the Master pod is the only writer, as locally. In a
pod its ``EventSink`` is :class:`services.trainer.adapters.frames.RemoteEventSink`, a stream to the trainer
Service named by ``LATHE_TRAINER_ADDRESS`` (the ``ReportWorkerEvents`` RPC, authenticated with the service
token from the ``lathe-secrets`` Secret, for the job in ``LATHE_TRAINER_JOB``, both rendered below). The
trainer appends the events through the same ``JobStore.append`` path as a local worker's frames
(:mod:`services.trainer.adapters.remote`), so watchers, the registry outbox and history see a Kubernetes job
exactly like a local one; the events are numbered per attempt, and a worker that reconnects resends what was
not acknowledged without duplicating anything. Checkpoints and the exported model go to the shared
S3-compatible artifact store (``artifact_root`` must then be an ``s3://`` URI), where any trainer pod can
resume or register them.

Built and tested on one machine (tests/trainer/integration/test_kubernetes_jobs.py): validation of a job
for the cluster (whole pods, ``trainer_kubernetes_max_world_size``, none of the trainer's own devices),
rendering, submission through ``kubectl`` (against a stand-in ``kubectl``), following the PyTorchJob's
status conditions, and the Master pod's command run as a local process with the rendered environment, an
empty scratch folder of its own and an S3 API server (moto) as the store: it fetches its staged data,
trains, streams to a real trainer and exports to the bucket, with the trainer's data cache deleted. Not
exercised (no cluster here): a real API server and training operator (the RBAC in
deploy/k8s/components/kubeflow-training, the operator's condition names as documented, the PET_* rendezvous
across pods, Worker pods, the emptyDir and GPU resources as a kubelet applies them), a real S3 or MinIO
reached from pods, and the image's kubectl (the Dockerfile was not built).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from lathe.kit.s3 import STORE_SETTINGS
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2
from services.trainer.adapters.staging import SCRATCH_ENV

API_VERSION = "kubeflow.org/v1"
SPEC_MOUNT = "/etc/lathe/job"
# The pod's writable scratch volume (an emptyDir; also the image's LATHE_HOME, HOME and working directory):
# the worker's staged inputs, its work folder.
SCRATCH_MOUNT = "/var/lib/lathe"
# The trainer's own environment that pods need as well to reach the artifact store (its credentials come from
# the lathe-secrets Secret): the endpoint of a non-AWS store, its addressing style, the region.
STORE_ENVIRONMENT = STORE_SETTINGS
# Spec keys naming the trainer's folders, which a pod cannot see (a local worker's spec has them).
LOCAL_PATHS = ("data_dir", "work_dir", "parent_folder")
# The training operator requires this container name in every replica.
CONTAINER = "pytorch"
_DNS_LABEL = re.compile(r"[^a-z0-9-]+")


def resource_name(job_name: str, attempt: int) -> str:
    """A DNS-1123 name for the job's attempt, for example ``lathe-job-3f2a…-a1``."""
    base = _DNS_LABEL.sub("-", job_name.split("/")[-1].lower()).strip("-")
    return f"lathe-{base}"[:55].rstrip("-") + f"-a{attempt}"


def render_pytorch_job(job: training_job_pb2.TrainingJob, spec: dict[str, Any], *, image: str, namespace: str,
                       trainer_address: str, ranks_per_pod: int, attempt: int = 1,
                       service_account: str = "trainer",
                       environment: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The ConfigMap holding the worker spec and the ``PyTorchJob`` that runs ``job`` over several pods.

    ``ranks_per_pod`` is the GPUs (or, for a CPU job, the processes) of one pod; ``world_size`` must be a
    multiple of it. ``spec`` must name its inputs in the artifact store (``staged``), never a trainer path.
    ``environment`` is added to the pods' as plain values (the artifact store's endpoint and region, see
    :data:`STORE_ENVIRONMENT`). Raises ``ValueError`` when the job does not split into whole pods or the spec
    is not staged.
    """
    world = max(job.scheduling.world_size, 1)
    if ranks_per_pod < 1 or world % ranks_per_pod:
        raise ValueError(f"world_size {world} is not a multiple of ranks_per_pod {ranks_per_pod}")
    local = [key for key in LOCAL_PATHS if spec.get(key)]
    if local or not spec.get("staged"):
        raise ValueError("a pod cannot read the trainer's folders: the spec must name its inputs in the artifact "
                         f"store (staged), not {', '.join(local) or 'nothing'}")
    pods = world // ranks_per_pod
    name = resource_name(job.name, attempt)
    on_gpus = job.scheduling.device_request.kind != cfg.DEVICE_KIND_CPU
    labels = {"app.kubernetes.io/name": "lathe-training-job", "app.kubernetes.io/part-of": "lathe",
              "lathe.dev/training-job": job.name.split("/")[-1][:63], "lathe.dev/attempt": str(attempt)}
    spec_file = f"{SPEC_MOUNT}/spec.json"
    pod_spec_json = json.dumps({**spec, "world_size": world, "attempt": attempt}, sort_keys=True)
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": f"{name}-spec", "namespace": namespace, "labels": labels},
                  "data": {"spec.json": pod_spec_json}}
    env = [
        {"name": "LATHE_TRAINER_ADDRESS", "value": trainer_address},
        {"name": "LATHE_TRAINER_JOB", "value": job.name},
        {"name": "LATHE_SERVICE_TOKEN", "valueFrom": {"secretKeyRef": {"name": "lathe-secrets",
                                                                       "key": "service-token"}}},
        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "lathe-secrets",
                                                                     "key": "s3-access-key-id"}}},
        {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "lathe-secrets",
                                                                         "key": "s3-secret-access-key"}}},
        # The worker fetches its staged inputs into the scratch volume (the root filesystem is read-only).
        {"name": SCRATCH_ENV, "value": SCRATCH_MOUNT},
    ]
    env.extend({"name": name, "value": value} for name, value in sorted((environment or {}).items())
               if name in STORE_ENVIRONMENT and value)
    if not on_gpus:
        env.append({"name": "OMP_NUM_THREADS", "value": str(max(1, int(spec.get("threads", 1))))})
    resources: dict[str, Any] = {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"memory": "32Gi"}}
    if on_gpus:
        resources["limits"]["nvidia.com/gpu"] = str(ranks_per_pod)
        resources["requests"]["nvidia.com/gpu"] = str(ranks_per_pod)
    container = {
        "name": CONTAINER, "image": image, "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", "services.trainer.launch"],
        # Rendezvous (nnodes, node rank, master address and port) comes from the operator's PET_* variables.
        "args": [f"--nproc-per-node={ranks_per_pod}", "--max-restarts=0", "-m", "services.trainer.worker",
                 spec_file],
        "env": env, "resources": resources,
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "spec", "mountPath": SPEC_MOUNT, "readOnly": True},
                         {"name": "scratch", "mountPath": SCRATCH_MOUNT},
                         {"name": "tmp", "mountPath": "/tmp"},
                         {"name": "shm", "mountPath": "/dev/shm"}],
    }
    pod: dict[str, Any] = {
        "serviceAccountName": service_account, "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "spec", "configMap": {"name": f"{name}-spec"}},
                    {"name": "scratch", "emptyDir": {"sizeLimit": "50Gi"}},
                    {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                    # NCCL and the data loader share memory through /dev/shm; the runtime's default is 64 MiB.
                    {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}],
    }
    if on_gpus:
        pod["nodeSelector"] = {"nvidia.com/gpu.present": "true"}
        pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]

    def replica(count: int) -> dict[str, Any]:
        return {"replicas": count, "restartPolicy": "Never",
                "template": {"metadata": {"labels": labels}, "spec": json.loads(json.dumps(pod))}}

    replicas = {"Master": replica(1)}
    if pods > 1:
        replicas["Worker"] = replica(pods - 1)
    pytorch_job = {
        "apiVersion": API_VERSION, "kind": "PyTorchJob",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "nprocPerNode": str(ranks_per_pod),
            # A failed pod fails the whole attempt (all ranks); the trainer restarts it as a new attempt from the
            # last checkpoint within the job's max_restarts, so the operator does not restart pods itself.
            "runPolicy": {"backoffLimit": 0, "cleanPodPolicy": "Running",
                          "ttlSecondsAfterFinished": 3600},
            "pytorchReplicaSpecs": replicas,
        },
    }
    return [config_map, pytorch_job]
