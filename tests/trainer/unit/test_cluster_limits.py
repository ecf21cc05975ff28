"""Which limits a job is validated against: the trainer's own devices, or, for a job that runs as a Kubeflow
PyTorchJob, the cluster's (whole pods, at most trainer_kubernetes_max_world_size ranks)."""

from __future__ import annotations

import pytest

from lathe.kit.errors import FailedPrecondition, InvalidArgument
from lathe.trainer.v1 import training_config_pb2 as cfg
from lathe.trainer.v1 import training_job_pb2
from services.trainer.domain.config import ClusterLimits, resolve

CLUSTER = ClusterLimits(min_world_size=2, max_world_size=64, ranks_per_pod=2)
# A trainer pod without a GPU whose CPU device hosts at most two ranks.
CPU_TRAINER = {"is_admin": False, "gpu_count": 0, "device_names": ["cpu"], "max_cpu_ranks": 2}


def job(world_size: int, kind: int = cfg.DEVICE_KIND_CPU, device: str = "") -> training_job_pb2.TrainingJob:
    return training_job_pb2.TrainingJob(
        recipe=cfg.RECIPE_CAUSAL_LM, data_source=cfg.DataSource(snapshot="snapshots/s"),
        options=cfg.TrainingOptions(max_steps=10, batch_size=64 * 3),
        scheduling=cfg.SchedulingOptions(world_size=world_size,
                                         device_request=cfg.DeviceRequest(kind=kind, device=device)))


def test_a_job_for_the_cluster_is_not_held_to_the_trainers_own_threads_or_gpus() -> None:
    assert resolve(job(4), **CPU_TRAINER, cluster=CLUSTER).scheduling.world_size == 4
    # CUDA on a trainer pod without a GPU: the pods bring theirs.
    assert resolve(job(64, cfg.DEVICE_KIND_CUDA), **CPU_TRAINER, cluster=CLUSTER).scheduling.world_size == 64
    # Without Kubernetes the same jobs are refused, as before.
    with pytest.raises(FailedPrecondition) as caught:
        resolve(job(4), **CPU_TRAINER)
    assert caught.value.reason == "WORLD_SIZE_UNAVAILABLE"
    with pytest.raises(FailedPrecondition) as caught:
        resolve(job(4, cfg.DEVICE_KIND_CUDA), **CPU_TRAINER)
    assert caught.value.reason == "NO_GPU"


@pytest.mark.parametrize(("world_size", "says"), [(3, "multiple of 2"), (5, "pods of 2 ranks"), (65, "at most 64"),
                                                  (66, "at most 64")])
def test_a_job_for_the_cluster_must_fill_whole_pods_within_the_limit(world_size: int, says: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        resolve(job(world_size), **CPU_TRAINER, cluster=CLUSTER)
    first = caught.value.field_violations[0]
    assert first.field == "training_job.scheduling.world_size" and says in first.description


def test_jobs_below_the_clusters_minimum_keep_the_local_checks() -> None:
    # world_size 1 stays on this trainer: no GPU here, and its device must be one of the trainer's.
    with pytest.raises(FailedPrecondition) as caught:
        resolve(job(1, cfg.DEVICE_KIND_CUDA), **CPU_TRAINER, cluster=CLUSTER)
    assert caught.value.reason == "NO_GPU"
    with pytest.raises(InvalidArgument) as caught:
        resolve(job(1, device="cuda:3"), **CPU_TRAINER, cluster=CLUSTER)
    assert caught.value.field_violations[0].field == "training_job.scheduling.device_request.device"
    # With every job on the cluster (minimum 1), a one-rank job must still fill a pod of two.
    everything = ClusterLimits(min_world_size=1, max_world_size=64, ranks_per_pod=2)
    with pytest.raises(InvalidArgument, match="multiple of 2"):
        resolve(job(1), **CPU_TRAINER, cluster=everything)
