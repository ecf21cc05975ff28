"""The worker's view of a multi-process (``world_size`` > 1) job: PyTorch's process group, nothing home-made.

A job with ``scheduling.world_size`` N > 1 is launched by the scheduler through PyTorch's own launcher
(``python -m services.trainer.launch --standalone --nproc-per-node=N … -m services.trainer.worker spec``,
which is ``torch.distributed.run`` behind a parent-death guard). The launcher sets ``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE`` and the rendezvous address of every process; :func:`init` joins the process group (NCCL on
GPUs, gloo on the CPU) with a timeout, so a collective waiting on a dead peer raises instead of hanging.

How a job's work is split (the contract's ``batch_size`` rule): every rank draws the same global batch from
the same seeded generator and trains on its own slice of it (a ``DistributedSampler`` equivalent for
randomly drawn windows), DDP averages the gradients, so N processes take exactly the optimizer steps one
process would take with the same global batch, up to floating-point summation order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Topology:
    """Where this process stands in its job: its rank, the number of ranks, its local rank on the host."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        """Whether the job runs more than one process."""
        return self.world_size > 1

    @property
    def is_writer(self) -> bool:
        """Whether this rank writes checkpoints, events and the exported model (rank 0 alone)."""
        return self.rank == 0


def topology_from_env() -> Topology:
    """The topology ``torchrun`` put in the environment (one process without it)."""
    return Topology(rank=int(os.environ.get("RANK", "0")), world_size=int(os.environ.get("WORLD_SIZE", "1")),
                    local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def init(topology: Topology, device: str, timeout_seconds: float) -> None:
    """Join the job's process group: NCCL on CUDA, gloo on the CPU; collectives time out after ``timeout``."""
    if not topology.distributed:
        return
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(topology.local_rank)
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout_seconds))


def shutdown() -> None:
    """Leave the process group: a barrier first, so no rank tears down while another still talks to it."""
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def all_reduce(values: list[float], *, op: str = "sum", device: str = "cpu") -> list[float]:
    """``values`` summed (or maxed) over every rank; unchanged in a one-process job."""
    if not (dist.is_available() and dist.is_initialized()):
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
    return tensor.tolist()
