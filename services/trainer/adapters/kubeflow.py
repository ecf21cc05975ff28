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
mounted read-only. Restarts are the trainer's, as for a local worker: ``runPolicy.backoffLimit`` is 0, and
the trainer submits each restart as a new attempt (a new ``…-a<attempt>`` PyTorchJob) resuming from the
job's last checkpoint, so ``max_restarts`` is counted once, in the job.

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

Built and tested on one machine (tests/trainer/integration/test_kubernetes_jobs.py): rendering, submission
through ``kubectl`` (against a stand-in ``kubectl``), following the PyTorchJob's status conditions, and the
pod's command run as a local process with the rendered environment, streaming to a real trainer. Not
exercised (no cluster here): a real API server and training operator (the RBAC in
deploy/k8s/components/kubeflow-training, the operator's condition names as documented, the PET_* rendezvous
across pods); and not built: staging the snapshot's split files where pods can read them (the spec names
the trainer's local data and work folders, which only a pod sharing the trainer's volume sees).
"""

from __future__ import annotations

import json
import re
from typing import Any

from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2

API_VERSION = "kubeflow.org/v1"
SPEC_MOUNT = "/etc/lathe/job"
# The training operator requires this container name in every replica.
CONTAINER = "pytorch"
_DNS_LABEL = re.compile(r"[^a-z0-9-]+")


def resource_name(job_name: str, attempt: int) -> str:
    """A DNS-1123 name for the job's attempt, for example ``lathe-job-3f2a…-a1``."""
    base = _DNS_LABEL.sub("-", job_name.split("/")[-1].lower()).strip("-")
    return f"lathe-{base}"[:55].rstrip("-") + f"-a{attempt}"


def render_pytorch_job(job: training_job_pb2.TrainingJob, spec: dict[str, Any], *, image: str, namespace: str,
                       trainer_address: str, ranks_per_pod: int, attempt: int = 1,
                       service_account: str = "trainer") -> list[dict[str, Any]]:
    """The ConfigMap holding the worker spec and the ``PyTorchJob`` that runs ``job`` over several pods.

    ``ranks_per_pod`` is the GPUs (or, for a CPU job, the processes) of one pod; ``world_size`` must be a
    multiple of it. Raises ``ValueError`` when the job does not split into whole pods.
    """
    world = max(job.scheduling.world_size, 1)
    if ranks_per_pod < 1 or world % ranks_per_pod:
        raise ValueError(f"world_size {world} is not a multiple of ranks_per_pod {ranks_per_pod}")
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
    ]
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
                         {"name": "scratch", "mountPath": "/var/lib/lathe"},
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
