"""Settings of the trainer service (``LATHE_*`` environment variables)."""

from pydantic import Field

from lathe.kit.settings import ServiceSettings


class TrainerSettings(ServiceSettings):
    """The shared service settings plus the trainer's devices, worker and event-log tuning."""

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
    trainer_outbox_poll_seconds: float = Field(2.0, gt=0, description="Outbox relay poll interval.")
    trainer_outbox_max_backoff_seconds: float = Field(30.0, gt=0, description="Longest outbox retry delay.")
