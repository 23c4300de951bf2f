"""The vanishing gradient made visible: ||dL/dh_t|| against t for each cell.

On the adding problem the loss is the squared error of the prediction read from the last
step's top-layer state, so the only route from the loss to an early ``h_t`` is through the
recurrence. How large ``dL/dh_t`` stays as ``t`` moves away from the end is how far back the
cell can still learn from (Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013).

Why the sequence is unrolled here: with a fused module (``torch.nn.LSTM`` and friends) the
output sequence is computed by one operation, so ``output.retain_grad()`` only records the
gradient that reaches ``output[:, t]`` *directly*: zero for every step but the last, since the
path through ``h_{t+1}`` runs inside the operation. Feeding the sequence one step at a time and
passing each step's state ``h_t`` into the next makes ``h_t`` a tensor on the path, whose
retained gradient is the full ``dL/dh_t`` (for LSTM-like cells, with ``c_t`` held fixed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.config import option, positive_int
from rnnkit.data.tasks import TaskSizes, make_task
from rnnkit.models import ModelConfig, SequenceModel, last_hidden, predict
from rnnkit.plots import plot_gradient_norms
from rnnkit.runs import environment, write_json
from rnnkit.training import TrainConfig, fit
from rnnkit.training.seeding import seeded


@dataclass
class GradientConfig:
    """What ``rnnkit diagnose gradients`` measures and how long it trains in between.

    The seed (initial weights and sample order) is the training part's ``train.seed``."""

    cells: list[str] = field(default_factory=lambda: ["rnn", "lstm", "gru"])  # --cells, shared
    backend: str = "auto"  # torch.nn's fused cells where they exist, else rnnkit's own
    length: int = option(100, "adding-problem length T (at least 2)", type=positive_int)
    hidden_size: int = option(64, "units of the one recurrent layer", type=positive_int)
    train_size: int = option(4000, "training sequences", type=positive_int)
    held_out: int = 500  # validation and test sequences, each
    probe_size: int = 256  # test sequences the gradient norms are averaged over
    data_seed: int = 1234  # the adding problem's data
    # --train-epochs sets train.epochs (the flag is renamed: the epochs between the two measures)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            epochs=3, batch_size=32, lr=1e-2, patience=0, progress=False, log_every=0
        )
    )

    @property
    def sizes(self) -> TaskSizes:
        return TaskSizes(train=self.train_size, val=self.held_out, test=self.held_out)


def hidden_state_gradients(model: SequenceModel, x: Tensor, y: Tensor) -> Tensor:
    """Mean over sequences of ||d loss_i / d h_t|| for t = 0..T-1: a (T,) tensor.

    ``x`` is (batch, T, features), ``y`` (batch, 1); loss_i is sequence i's squared error.
    """
    model.eval()
    state: Any = None
    hidden: list[Tensor] = []
    for t in range(x.shape[1]):
        _, state = model.rnn(x[:, t : t + 1], state)  # one step; state carries h_t (and c_t)
        h_t = state[0] if isinstance(state, tuple) else state  # (layers, batch, hidden)
        h_t.retain_grad()
        hidden.append(h_t)
    prediction = model.head(last_hidden(state, 1))  # (batch, 1)
    loss = F.mse_loss(prediction, y, reduction="sum")  # sum: each h_t^i gets d loss_i / d h_t^i
    loss.backward()
    grads = torch.stack([h.grad[-1] for h in hidden if h.grad is not None], 1)  # (batch, T, hid)
    model.zero_grad(set_to_none=True)
    return grads.norm(dim=-1).mean(dim=0).detach().cpu()  # (T,)


def _profile(norms: Tensor) -> dict[str, Any]:
    first, last = float(norms[0]), float(norms[-1])
    return {
        "norms": norms.tolist(),
        "first": first,
        "last": last,
        "first_over_last": first / last if last > 0 else None,
    }


def diagnose_gradients(config: GradientConfig, out: Path, device: torch.device) -> dict[str, Any]:
    """Measure each cell at initialisation and after a short training; write JSON and a plot."""
    task = make_task("adding", config.length, sizes=config.sizes, seed=config.data_seed)
    x_test, y_test = task.test.tensors()
    x_probe, y_probe = (
        x_test[: config.probe_size].to(device),
        y_test[: config.probe_size].to(device),
    )
    cells: dict[str, Any] = {}
    for cell in config.cells:
        model_config = ModelConfig(
            cell=cell, backend=config.backend, input_size=2, hidden_size=config.hidden_size
        )
        with seeded(config.train.seed):
            model = SequenceModel(model_config).to(device)
        at_init = hidden_state_gradients(model, x_probe, y_probe)
        history = fit(model, task.train, task.val, config.train, device=device, desc=cell)
        trained = hidden_state_gradients(model, x_probe, y_probe)
        cells[cell] = {
            "init": _profile(at_init),
            "trained": _profile(trained),
            "trained_test_mse": task.metric(y_test, predict(model, x_test)),
            "epochs": len(history.records),
        }
    summary = {
        "task": "adding",
        "length": config.length,
        "baseline_test_mse": task.baseline,
        "quantity": "mean over probe sequences of ||d loss_i / d h_t|| (top layer), "
        "loss_i = squared error of sequence i's prediction from the last step",
        "cells": cells,
        "config": asdict(config),
        "versions": environment(),
    }
    write_json(out / "gradients.json", summary)
    panels = {
        "at initialisation": {c: v["init"]["norms"] for c, v in cells.items()},
        f"after {config.train.epochs} epochs of training": {
            c: v["trained"]["norms"] for c, v in cells.items()
        },
    }
    plot_gradient_norms(
        panels, out / "gradients.png", title=f"adding problem, T={config.length}: ||dL/dh_t||"
    )
    return summary


def format_gradients(summary: dict[str, Any]) -> str:
    """The table printed by ``rnnkit diagnose gradients``."""
    header = (
        f"{'cell':<15}{'init |g_0|/|g_T-1|':>20}{'trained |g_0|/|g_T-1|':>23}{'trained MSE':>13}"
    )
    lines = [header, "-" * len(header)]
    for cell, v in summary["cells"].items():
        ratios = [v[k]["first_over_last"] for k in ("init", "trained")]
        text = [f"{r:.3g}" if r is not None else "n/a" for r in ratios]
        lines.append(f"{cell:<15}{text[0]:>20}{text[1]:>23}{v['trained_test_mse']:>13.4g}")
    lines.append(f"trivial baseline test MSE: {summary['baseline_test_mse']:.4g}")
    return "\n".join(lines)
