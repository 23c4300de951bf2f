"""torch.distributed helpers: who am I, and am I the process that writes files.

rnnkit runs unchanged under ``torchrun``; outside it, these report a single process.
"""

from __future__ import annotations

import torch.distributed as dist


def is_distributed() -> bool:
    """True inside an initialised torch.distributed process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """Only rank 0 writes logs, checkpoints and outputs."""
    return rank() == 0
