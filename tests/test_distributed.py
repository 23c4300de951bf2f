"""DistributedSampler semantics, and 2 torchrun processes (gloo) training like 1 process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnnkit.data import Examples, sliding_windows
from rnnkit.models import ModelConfig, SequenceModel
from rnnkit.training.checkpoint import load_checkpoint
from rnnkit.training.distributed import (
    Context,
    EpochOrder,
    EpochSampler,
    epoch_batches,
    steps_per_epoch,
)
from tests.train_driver import options, train

DRIVER = Path(__file__).with_name("train_driver.py")
CPU = torch.device("cpu")


@pytest.mark.parametrize("n", [1, 2, 5, 64, 1000, 4099])
def test_epoch_order_is_a_permutation_that_changes_with_epoch_and_seed(n: int) -> None:
    order = EpochOrder(n, seed=0, epoch=0)[torch.arange(n)]
    assert sorted(order.tolist()) == list(range(n))
    if n >= 64:
        assert not torch.equal(order, torch.arange(n))
        assert not torch.equal(order, EpochOrder(n, seed=0, epoch=1)[torch.arange(n)])
        assert not torch.equal(order, EpochOrder(n, seed=1, epoch=0)[torch.arange(n)])


def test_epoch_sampler_splits_the_epoch_order_like_distributed_sampler() -> None:
    n, batch, world = 51, 8, 2
    order = EpochOrder(n, seed=3, epoch=1)[torch.arange(n)]
    for rank in range(world):
        sampler = EpochSampler(n, batch, seed=3, context=Context(rank, world, CPU))
        sampler.set_epoch(1)
        steps = list(sampler)
        assert len(steps) == len(sampler) == steps_per_epoch(n, batch, world) == 7
        padded = torch.cat([order, order[:1]])  # wrapped to 52, a multiple of W
        assert torch.equal(torch.cat(steps), padded[rank::world])
    resumed = EpochSampler(n, batch, seed=3, context=Context(0, 1, CPU), start=4)
    resumed.set_epoch(1)
    assert len(resumed) == 3 and torch.equal(torch.cat(list(resumed)), order[32:])


class NoOrder:
    """A batch source that is no indexable Dataset: it shuffles itself."""

    def __init__(self, examples: Examples) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def iter_batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.examples.iter_batches(batch_size, shuffle=shuffle, generator=generator)


@pytest.mark.parametrize("wrap", [lambda e: e, NoOrder], ids=["examples", "no-order"])
@pytest.mark.parametrize("world", [2, 4])
def test_ranks_together_train_on_the_single_process_batches(wrap: object, world: int) -> None:
    x, y = sliding_windows(torch.arange(103.0), 1)  # window i holds the value i
    data = wrap(Examples(x, y))  # type: ignore[operator]
    single = [b[0].flatten() for _, b in epoch_batches(data, 8, 3, 2, 0, Context(0, 1, CPU))]
    per_rank = [
        [b[0].flatten() for _, b in epoch_batches(data, 8, 3, 2, 0, Context(r, world, CPU))]
        for r in range(world)
    ]
    assert len(single) == steps_per_epoch(102, 8, world) == len(per_rank[0])
    for step, batch in enumerate(single[:-1]):  # the last one is padded, as the sampler does
        together = torch.cat([rank[step] for rank in per_rank])
        assert sorted(together.tolist()) == sorted(batch.tolist())
    seen = torch.cat([torch.cat(rank) for rank in per_rank])
    assert set(seen.tolist()) == set(range(102))
    resumed = [b[0].flatten() for _, b in epoch_batches(data, 8, 3, 2, 5, Context(0, 1, CPU))]
    assert all(torch.equal(a, b) for a, b in zip(resumed, single[5:], strict=True))


def test_two_torchrun_processes_match_one_process(tmp_path: Path) -> None:
    # 176 training windows: every global batch of 8 splits into two equal halves
    flags = ["--epochs", "2", "--samples", "255", "--dropout", "0", "--checkpoint-every", "5"]
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone"]
        + [str(DRIVER), str(tmp_path), *flags],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=DRIVER.parent.parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = load_file(str(tmp_path / "final.safetensors"))
    args = options(["unused", *flags])
    args.run_dir = None
    single = train(args).state_dict()
    assert ddp.keys() == single.keys()
    for name, value in single.items():
        torch.testing.assert_close(ddp[name], value, rtol=0, atol=1e-5)
    # rank 0's checkpoint loads in a plain process
    model = SequenceModel(ModelConfig(cell="gru", hidden_size=8, num_layers=2))
    optimizer = torch.optim.AdamW(model.parameters())
    progress, best = load_checkpoint(tmp_path, model=model, optimizer=optimizer)
    assert progress["epoch"] == 2 and progress["world_size"] == 2
    assert best is not None
    for name, value in best.items():
        torch.testing.assert_close(value, ddp[name], rtol=0, atol=0)
