"""The PyTorchJob a multi-pod training job is rendered as: the invariants the training operator and Lathe need."""

from __future__ import annotations

import json
import re

import pytest

from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2
from services.trainer.adapters.kubeflow import CONTAINER, SCRATCH_MOUNT, SPEC_MOUNT, render_pytorch_job
from services.trainer.adapters.staging import SCRATCH_ENV

DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def job(world_size: int, kind: int = cfg.DEVICE_KIND_CUDA, max_restarts: int = 2) -> training_job_pb2.TrainingJob:
    return training_job_pb2.TrainingJob(
        name="trainingJobs/Job_42.big", recipe=cfg.RECIPE_CAUSAL_LM,
        scheduling=cfg.SchedulingOptions(world_size=world_size, max_restarts=max_restarts,
                                         device_request=cfg.DeviceRequest(kind=kind)))


STAGED = {"data": [{"name": "train.txt", "uri": f"s3://lathe/artifacts/sha256/ab/{'ab' * 32}", "sha256": "ab" * 32,
                    "size_bytes": 10}], "parent": None}


def render(world_size: int, ranks_per_pod: int, spec: dict | None = None, environment: dict | None = None, **kwargs):
    spec = spec or {"job": "base64", "artifact_root": "s3://lathe/artifacts", "threads": 4, "staged": STAGED}
    return render_pytorch_job(job(world_size, **kwargs), spec, image="registry.example/lathe-cuda:1.4.0",
                              namespace="lathe", trainer_address="trainer.lathe.svc:50052",
                              ranks_per_pod=ranks_per_pod, attempt=3, environment=environment)


def test_gpu_job_over_four_pods_is_one_master_and_three_workers_running_the_same_launcher() -> None:
    config_map, pytorch_job = render(16, 4)
    assert (pytorch_job["apiVersion"], pytorch_job["kind"]) == ("kubeflow.org/v1", "PyTorchJob")
    spec = pytorch_job["spec"]
    replicas = spec["pytorchReplicaSpecs"]
    assert set(replicas) == {"Master", "Worker"}
    assert replicas["Master"]["replicas"] == 1 and replicas["Worker"]["replicas"] == 3
    # Pods x ranks per pod is the job's world size.
    assert int(spec["nprocPerNode"]) * (1 + replicas["Worker"]["replicas"]) == 16
    # The job's max_restarts (2) is counted once, by the trainer: each restart is a new attempt, a new PyTorchJob.
    assert spec["runPolicy"]["backoffLimit"] == 0
    containers = [r["template"]["spec"]["containers"] for r in replicas.values()]
    assert all(len(c) == 1 and c[0]["name"] == CONTAINER for c in containers)
    master, worker = (c[0] for c in containers)
    for key in ("image", "command", "args", "env", "resources", "volumeMounts"):
        assert master[key] == worker[key], key
    assert master["image"] == "registry.example/lathe-cuda:1.4.0"
    assert master["command"] == ["python", "-m", "services.trainer.launch"]
    assert "--nproc-per-node=4" in master["args"] and "--max-restarts=0" in master["args"]
    assert master["args"][-3:] == ["-m", "services.trainer.worker", f"{SPEC_MOUNT}/spec.json"]
    assert not any(a.startswith(("--standalone", "--nnodes", "--node-rank", "--master")) for a in master["args"])
    assert master["resources"]["limits"]["nvidia.com/gpu"] == "4"
    env = {e["name"]: e for e in master["env"]}
    assert env["LATHE_TRAINER_ADDRESS"]["value"] == "trainer.lathe.svc:50052"
    assert env["LATHE_TRAINER_JOB"]["value"] == "trainingJobs/Job_42.big"
    assert all("value" in e or e["valueFrom"]["secretKeyRef"]["name"] == "lathe-secrets" for e in env.values())
    for replica in replicas.values():
        pod = replica["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert replica["restartPolicy"] == "Never"
        (volume,) = [v for v in pod["volumes"] if v["name"] == "spec"]
        assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    # The spec the ranks read is the worker's spec, with the world size and attempt.
    assert json.loads(config_map["data"]["spec.json"])["world_size"] == 16
    assert json.loads(config_map["data"]["spec.json"])["artifact_root"] == "s3://lathe/artifacts"
    for obj in (config_map, pytorch_job):
        assert DNS_1123.match(obj["metadata"]["name"]) and len(obj["metadata"]["name"]) <= 63
        assert obj["metadata"]["namespace"] == "lathe"


def test_one_pod_job_has_no_workers_and_a_cpu_job_asks_for_no_gpu() -> None:
    _, pytorch_job = render(2, 2, kind=cfg.DEVICE_KIND_CPU, max_restarts=0)
    replicas = pytorch_job["spec"]["pytorchReplicaSpecs"]
    assert set(replicas) == {"Master"}
    container = replicas["Master"]["template"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in json.dumps(container["resources"])
    assert "nodeSelector" not in replicas["Master"]["template"]["spec"]
    assert pytorch_job["spec"]["runPolicy"]["backoffLimit"] == 0


def test_a_world_size_that_does_not_fill_whole_pods_is_refused() -> None:
    with pytest.raises(ValueError, match="not a multiple"):
        render(6, 4)


def test_a_pod_fetches_its_inputs_into_its_scratch_volume_and_gets_the_trainers_store_settings() -> None:
    config_map, pytorch_job = render(4, 2, environment={
        "LATHE_S3_ENDPOINT_URL": "http://minio.lathe.svc:9000", "AWS_REGION": "eu-west-1",
        "AWS_SECRET_ACCESS_KEY": "not-from-here", "LATHE_DATABASE_URL": "postgresql://secret"})
    pod = pytorch_job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    # The worker's scratch folder is the one writable volume for data (the root filesystem is read-only).
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert env[SCRATCH_ENV]["value"] == SCRATCH_MOUNT
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == SCRATCH_MOUNT]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume and not mount.get("readOnly")
    # The store's endpoint and region come along as values; credentials only from the Secret, nothing else leaks.
    assert env["LATHE_S3_ENDPOINT_URL"]["value"] == "http://minio.lathe.svc:9000"
    assert env["AWS_REGION"]["value"] == "eu-west-1"
    assert "valueFrom" in env["AWS_SECRET_ACCESS_KEY"] and "LATHE_DATABASE_URL" not in env
    assert json.loads(config_map["data"]["spec.json"])["staged"] == STAGED


def test_a_spec_naming_the_trainers_folders_is_never_rendered_for_a_pod() -> None:
    local = {"job": "base64", "artifact_root": "s3://lathe/artifacts", "data_dir": "/var/lib/lathe/trainer/data/x",
             "work_dir": "/var/lib/lathe/trainer/work/x"}
    with pytest.raises(ValueError, match="data_dir, work_dir"):
        render(2, 2, spec={**local, "staged": STAGED})
    with pytest.raises(ValueError, match="staged"):
        render(2, 2, spec={"job": "base64", "artifact_root": "s3://lathe/artifacts"})
