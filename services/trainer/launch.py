"""PyTorch's own launcher (``torch.distributed.run``, a.k.a. ``torchrun``) behind a parent-death guard.

``python -m services.trainer.launch <torchrun arguments>`` is exactly ``torchrun <torchrun arguments>``, except
that the launcher is killed when the trainer service that started it dies (as one-process workers are), and
its ranks die with it (each worker sets the same guard). Failure handling is torchrun's: when a rank exits
non-zero or is killed, the launcher stops the other ranks and exits non-zero, and the trainer's scheduler
restarts or fails the job per ``max_restarts`` (torchrun's own restarts are disabled with
``--max-restarts=0``, so the restart budget is counted once, in the job).
"""

from __future__ import annotations

import sys

from services.trainer.worker import die_with_parent


def main(argv: list[str]) -> None:
    """Run ``torch.distributed.run`` with ``argv``."""
    die_with_parent()
    from torch.distributed.run import main as torchrun

    torchrun(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
