"""Settings of the trainer service (``LATHE_*`` environment variables)."""

from __future__ import annotations

import ipaddress
import socket

from pydantic import Field, field_validator, model_validator

from lathe.kit.settings import ServiceSettings


class TrainerSettings(ServiceSettings):
    """The shared service settings plus the trainer's devices, worker and event-log tuning, and where jobs
    run on Kubernetes (off unless ``trainer_kubernetes_namespace`` is set)."""

    trainer_devices: str = Field(
        "auto", description="auto (every CUDA GPU, else the CPU) or a list such as cpu or cuda:0,cuda:1.")
    trainer_cpu_threads: int = Field(
        0, ge=0, description="Torch threads of a CPU worker; 0 means all cores. A CPU job with world_size N runs "
        "N ranks on the CPU device, each with threads // N threads (so N may not exceed the threads).")
    trainer_distributed_timeout_seconds: float = Field(
        300.0, gt=0, description="How long a rank of a world_size > 1 job waits in a collective (a peer that "
        "died or hangs) before it fails; the launcher then stops the job's other ranks.")
    trainer_cancel_grace_seconds: float = Field(
        5.0, gt=0, description="How long a cancelled worker may take to stop before it is killed.")
    trainer_event_flush_seconds: float = Field(
        0.2, gt=0, description="How often a running job's buffered worker events are written to the log.")
    trainer_instance: str = Field(
        default_factory=socket.gethostname, min_length=1, max_length=253,
        description="This trainer's name among the replicas sharing one database (the pod name on Kubernetes, "
        "the default being the hostname): the runner a job's lease names. Unique per live trainer; a trainer "
        "restarted under the same name resumes its own jobs at once instead of waiting for their leases.")
    trainer_lease_seconds: float = Field(
        30.0, gt=0, description="How long a trainer's claim on a job holds without renewal (renewed every third "
        "of it); a job whose trainer died is taken over by another once its lease has expired.")
    trainer_version_cache_bytes: int = Field(
        20 << 30, ge=0, description="The most bytes the cache of registered versions read from an S3 store keeps "
        "(<home>/trainer/versions; sampling, evaluations and fine-tunes read them there). Beyond it the least "
        "recently used versions are removed, and fetched again, verified, when next needed.")
    trainer_version_cache_idle_seconds: float = Field(
        3600.0, ge=0, description="A cached version used within this many seconds is never removed (a request or "
        "an evaluation may still be reading it), even when the cache is over its budget.")
    trainer_outbox_poll_seconds: float = Field(2.0, gt=0, description="Outbox relay poll interval.")
    trainer_outbox_max_backoff_seconds: float = Field(30.0, gt=0, description="Longest outbox retry delay.")
    trainer_kubernetes_namespace: str = Field(
        "", description="Run jobs of world_size >= trainer_kubernetes_min_world_size as Kubeflow PyTorchJobs in "
        "this namespace (submitted with kubectl; rank 0 reports to this trainer over ReportWorkerEvents); empty: "
        "every job runs on this trainer's own devices.")
    trainer_kubernetes_image: str = Field(
        "", description="The image of a PyTorchJob's pods (the trainer's own image); required with a namespace.")
    trainer_kubernetes_ranks_per_pod: int = Field(
        1, ge=1, description="Ranks (GPUs, or CPU processes) per pod; a job's world_size must be a multiple of it.")
    trainer_kubernetes_min_world_size: int = Field(
        2, ge=1, description="The smallest world_size run on Kubernetes; smaller jobs run on this trainer.")
    trainer_kubernetes_max_world_size: int = Field(
        64, ge=1, description="The largest world_size accepted for a job run on Kubernetes (such a job is checked "
        "against this and trainer_kubernetes_ranks_per_pod, not against this trainer's own GPUs and threads).")
    trainer_kubernetes_trainer_address: str = Field(
        "", description="The address pods reach this trainer at (host:port); empty means trainer_address (the "
        "Service's DNS name in the cluster). A bare IPv6 host, as $(POD_IP):50052 gives on an IPv6 cluster, is "
        "bracketed.")
    trainer_kubernetes_service_account: str = Field(
        "trainer", description="The service account of a PyTorchJob's pods (no API token is mounted in them).")
    trainer_kubernetes_poll_seconds: float = Field(
        10.0, gt=0, description="How often a PyTorchJob's status is read, to notice pods that ended without the "
        "worker reporting the job's end.")
    trainer_kubectl: str = Field("kubectl", description="The kubectl the trainer submits PyTorchJobs with.")

    @field_validator("trainer_kubernetes_trainer_address")
    @classmethod
    def _bracket_ipv6_host(cls, value: str) -> str:
        """``fd00::5:50052`` → ``[fd00::5]:50052``: gRPC reads an unbracketed IPv6 literal's groups as ports."""
        if value.count(":") < 2 or value.startswith("["):
            return value
        host, _, port = value.rpartition(":")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{value!r} is neither host:port nor an IPv6 address followed by :port") from None
        if not port.isdigit():
            raise ValueError(f"{value!r} must end with :port")
        return f"[{host}]:{port}"

    @model_validator(mode="after")
    def _kubernetes_settings_agree(self) -> TrainerSettings:
        if self.trainer_kubernetes_namespace and not self.trainer_kubernetes_image:
            raise ValueError("trainer_kubernetes_image is required when trainer_kubernetes_namespace is set")
        if self.trainer_kubernetes_namespace and \
                self.trainer_kubernetes_max_world_size < self.trainer_kubernetes_min_world_size:
            raise ValueError("trainer_kubernetes_max_world_size must be at least trainer_kubernetes_min_world_size")
        return self
