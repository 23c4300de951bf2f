"""torch.distributed for the fit loop: who am I, which samples are mine, and agreeing on things.

rnnkit runs unchanged under ``torchrun --nproc_per_node=N``: :func:`setup` sees torchrun's
environment (RANK, WORLD_SIZE, LOCAL_RANK), starts the process group (gloo on CPU, nccl on CUDA)
and picks this process's GPU. Outside torchrun everything here reports a single process.

The sample order follows ``torch.utils.data.DistributedSampler``: each epoch has one seeded
permutation of the training set (seed + epoch, the sampler's ``set_epoch``), padded by wrapping
around to a multiple of the world size, and rank ``r`` takes positions ``r, r + W, r + 2W, ...``.
The permutation is computed on demand (:class:`EpochOrder`), so no tensor as long as the data set
is ever built; :class:`EpochSampler` is that order as a ``torch.utils.data.Sampler``, through
which a ``DataLoader`` reads the data set. Step ``k`` of every rank together covers positions
``[k*B, (k+1)*B)`` of that permutation, exactly the batch one process with batch size ``B``
trains on at step ``k``.
"""

from __future__ import annotations

import atexit
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Sampler

from rnnkit.errors import UserError

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
ORDER_CHUNK = 1 << 16  # positions of the epoch order computed at a time


def is_distributed() -> bool:
    """True inside an initialised torch.distributed process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank; under torchrun, known from RANK before the group starts too."""
    if is_distributed():
        return dist.get_rank()
    return int(os.environ["RANK"]) if launched_by_torchrun() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """Only rank 0 writes logs, checkpoints and outputs."""
    return rank() == 0


def launched_by_torchrun() -> bool:
    """True when torchrun's environment variables are set."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


@dataclass(frozen=True)
class Context:
    """This process's place in the job: its rank, the number of processes, its device."""

    rank: int
    world: int
    device: torch.device


def setup(device: torch.device) -> Context:
    """Join torchrun's process group if launched by it (once per process); else one process.

    On CUDA each process uses the GPU ``LOCAL_RANK``, whatever CUDA device was asked for.
    """
    if not launched_by_torchrun():
        return Context(0, 1, device)
    if not dist.is_available():
        raise UserError("launched by torchrun, but this torch build has no torch.distributed")
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(_shutdown)
    return Context(dist.get_rank(), dist.get_world_size(), device)


def _shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: nn.Module, context: Context) -> nn.Module:
    """``model`` in DistributedDataParallel when there are several processes, else itself."""
    if context.world == 1:
        return model
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def all_reduce_sum(values: list[float], context: Context) -> list[float]:
    """Element-wise sums over every process (the values themselves in a single process)."""
    if context.world == 1:
        return values
    summed = torch.tensor(values, dtype=torch.float64, device=context.device)
    dist.all_reduce(summed)
    return [float(v) for v in summed.tolist()]


def max_over_ranks(value: int, context: Context) -> int:
    """The largest ``value`` any process holds (so that all of them take the same branch)."""
    if context.world == 1:
        return value
    agreed = torch.tensor([value], dtype=torch.int64, device=context.device)
    dist.all_reduce(agreed, op=dist.ReduceOp.MAX)
    return int(agreed.item())


class EpochOrder:
    """A seeded permutation of ``range(n)`` for one epoch, computed for any positions on demand.

    A Feistel network over the smallest even number of bits that holds ``n`` is a bijection of
    that power-of-two range; positions that land at ``n`` or beyond are encrypted again until they
    fall inside ("cycle walking"), which keeps it a bijection of ``range(n)``. Memory is
    proportional to the positions asked for, not to ``n``.
    """

    ROUNDS = 6

    def __init__(self, n: int, seed: int, epoch: int) -> None:
        self.n = n
        bits = max(2, (n - 1).bit_length())
        self.half = (bits + 1) // 2
        self.mask = (1 << self.half) - 1
        keys = random.Random(f"rnnkit-order:{seed}:{epoch}")  # str seeds are hashed stably
        self.keys = [keys.getrandbits(31) for _ in range(self.ROUNDS)]

    def _mix(self, right: Tensor, key: int) -> Tensor:
        """The round function: an integer hash kept below 2**62 so int64 never overflows."""
        h = ((right ^ key) * 0x2545F491) & 0xFFFFFFFF
        h = h ^ (h >> 15)
        h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
        return (h ^ (h >> 13)) & self.mask

    def _encrypt(self, x: Tensor) -> Tensor:
        left, right = x >> self.half, x & self.mask
        for key in self.keys:
            left, right = right, left ^ self._mix(right, key)
        return (left << self.half) | right

    def __getitem__(self, positions: Tensor) -> Tensor:
        """Sample indices at ``positions`` (int64, each in [0, n)) of this epoch's order."""
        x = self._encrypt(positions.to(torch.int64))
        outside = x >= self.n
        while bool(outside.any()):
            x[outside] = self._encrypt(x[outside])
            outside = x >= self.n
        return x


def steps_per_epoch(n: int, batch_size: int, world: int = 1) -> int:
    """Optimiser steps in one epoch of ``n`` samples at global ``batch_size`` over ``world``."""
    per_rank = -(-n // world)  # the sampler pads every rank to the same count
    local = batch_size // world
    return -(-per_rank // local)


def rank_positions(start: int, stop: int, n: int, batch_size: int, context: Context) -> Tensor:
    """Positions in the epoch's order that this rank trains on in steps ``[start, stop)``.

    Rank ``r``'s ``j``-th sample is position ``r + W*j`` of the order padded to a multiple of W
    (padding wraps to the start, as DistributedSampler does); each step takes ``B / W`` of them.
    """
    per_rank = -(-n // context.world)
    local = batch_size // context.world
    j = torch.arange(start * local, min(stop * local, per_rank))  # (samples,)
    return (context.rank + context.world * j) % n


def shard(batch: tuple[Tensor, ...], context: Context) -> tuple[Tensor, ...]:
    """This rank's rows ``r, r + W, ...`` of a global batch (padded by wrapping, as above)."""
    if context.world == 1:
        return batch
    n = int(batch[0].shape[0])
    rows = (context.rank + context.world * torch.arange(-(-n // context.world))) % n
    return tuple(t[rows] for t in batch)


class EpochSampler(Sampler[Tensor]):
    """This rank's positions for every step of an epoch: a batch sampler for a DataLoader.

    It splits :class:`EpochOrder` as ``DistributedSampler`` splits its permutation (padded by
    wrapping to a multiple of the world size; rank ``r`` takes positions ``r, r + W, ...``) and
    yields ``batch_size / W`` of them per step, as one int64 tensor, from step ``start`` on (a
    mid-epoch resume). ``set_epoch`` picks the epoch's order, as ``DistributedSampler``'s does.
    Unlike ``RandomSampler``/``DistributedSampler`` it never materialises the whole permutation
    (``randperm(n).tolist()``): the order is computed a chunk of steps at a time.
    """

    def __init__(
        self, n: int, batch_size: int, seed: int, context: Context, *, start: int = 0
    ) -> None:
        self.n, self.batch_size, self.seed, self.context = n, batch_size, seed, context
        self.start, self.epoch = start, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return max(0, steps_per_epoch(self.n, self.batch_size, self.context.world) - self.start)

    def __iter__(self) -> Iterator[Tensor]:
        local = self.batch_size // self.context.world
        order = EpochOrder(self.n, self.seed, self.epoch)
        steps = steps_per_epoch(self.n, self.batch_size, self.context.world)
        chunk = max(1, ORDER_CHUNK // local)  # steps whose rows are computed at once
        for first in range(self.start, steps, chunk):
            last = min(first + chunk, steps)
            rows = order[rank_positions(first, last, self.n, self.batch_size, self.context)]
            for k in range(last - first):
                yield rows[k * local : (k + 1) * local]  # (B / W,) positions of step first + k


def _as_is(batch: Any) -> Any:
    """The DataLoader's collate function: the data set already returns whole batches."""
    return batch


def epoch_batches(
    data: Any, batch_size: int, seed: int, epoch: int, start: int, context: Context
) -> Iterator[tuple[int, tuple[Tensor, ...]]]:
    """This rank's batches of ``epoch`` from step ``start`` on, each with its step number.

    A ``torch.utils.data.Dataset`` whose ``data[positions]`` is a batch (e.g.
    :class:`rnnkit.data.Examples`) is read through a DataLoader driven by :class:`EpochSampler`,
    gathering only this rank's rows. Any other batch source shuffles itself with a generator
    seeded by seed + epoch, and each rank keeps its share of every global batch (same
    semantics, more gathering).
    """
    n = len(data)  # every batch source has a length
    if not isinstance(data, Dataset):
        generator = torch.Generator().manual_seed(seed + epoch)
        batches = data.iter_batches(batch_size, shuffle=True, generator=generator)
        for step, batch in enumerate(batches):
            if step >= start:
                yield step, shard(batch, context)
        return
    sampler = EpochSampler(n, batch_size, seed, context, start=start)
    sampler.set_epoch(epoch)
    # the loader draws a base seed when iterated: from its own generator, never from torch's
    # global one (which holds the dropout stream that resume restores bit for bit)
    private = torch.Generator().manual_seed(seed + epoch)
    yield from enumerate(
        DataLoader(data, sampler=sampler, batch_size=None, collate_fn=_as_is, generator=private),
        start,
    )
