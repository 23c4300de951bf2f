"""Which cell when: train every cell on one task under the same budget and measure them.

Per cell and seed: one run through :func:`rnnkit.training.fit`, the test metric, "solved" (test
metric at most 10% of the trivial baseline's on the synthetic tasks, 90% on a real series, see
:mod:`rnnkit.compare.series`), parameters, seconds per epoch and peak memory (CUDA's counter, or
off CUDA the estimate of :func:`rnnkit.compare.measure.memory_bytes`).
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from rnnkit.compare.measure import hidden_for_budget, memory_bytes
from rnnkit.compare.series import SeriesTask, series_run
from rnnkit.config import int_list, option, positive_int
from rnnkit.data.tasks import TaskData, TaskSizes, make_task
from rnnkit.errors import UserError
from rnnkit.models import ModelConfig, SequenceModel, count_parameters, predict
from rnnkit.plots import plot_compare_curves
from rnnkit.runs import environment, write_json
from rnnkit.training import History, TrainConfig, fit
from rnnkit.training.seeding import seeded

log = logging.getLogger(__name__)
# the budget every cell gets: a high lr with clipping and small batches
QUIET: dict[str, Any] = {"progress": False, "log_every": 0}
COMPARE_TRAINING: dict[str, Any] = {"epochs": 24, "batch_size": 32, "lr": 1e-2, "patience": 12}


@dataclass
class CompareConfig:
    """One comparison: the task, the cells, the shared budget and the training settings."""

    task: str = option("adding", "a synthetic task, a bundled series dataset or a file")
    length: int | None = option(None, "sequence length T (default: the task's)", type=positive_int)
    cells: list[str] = field(default_factory=lambda: ["rnn", "lstm", "gru"])  # --cells, shared
    backend: str = "auto"  # torch.nn's fused cells where they exist, else rnnkit's own
    hidden_size: int = option(
        64, "units per layer for every cell (ignored with param_budget)", type=positive_int
    )
    param_budget: int | None = option(
        None,
        "give each cell the hidden size whose parameter count is closest to this",
        type=positive_int,
    )
    num_layers: int = option(1, "stacked recurrent layers", flag="--layers", type=positive_int)
    # seeds fix the initialisation and the order of the examples
    seeds: list[int] = option([0, 1, 2], "comma-separated seeds, one run per cell", type=int_list)
    target: str | None = option(None, "real series from a file: the value column to forecast")
    time_col: str | None = option(None, "real series from a file: the time column")
    train_size: int = option(
        TaskSizes.train, "training sequences of the synthetic tasks", type=positive_int
    )
    held_out: int = TaskSizes.val  # validation and test sequences of the synthetic tasks, each
    data_seed: int = 1234  # the task's data is the same for every cell and seed
    # lets LSTM and GRU solve adding at T=100 on 2 cores in 10 min (docs/which-cell-when.md)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(**QUIET, **COMPARE_TRAINING))
    # Real series: the Forecaster's own defaults, overridden only by the options given here
    # (e.g. {"epochs": 30}); hidden size, layers, backend and device come from the fields above.
    series_options: dict[str, Any] = field(default_factory=dict)

    @property
    def sizes(self) -> TaskSizes:
        """The synthetic tasks' set sizes."""
        return TaskSizes(train=self.train_size, val=self.held_out, test=self.held_out)


@dataclass
class RunResult:
    """One cell trained with one seed."""

    cell: str
    seed: int
    hidden_size: int
    params: int
    test_metric: float
    solved: bool
    seconds_per_epoch: float  # median over epochs (training pass plus validation pass)
    train_seconds: float
    epochs: int
    memory_bytes: int | None  # None: not measured
    history: History


def _model_config(config: CompareConfig, cell: str, task: TaskData, hidden: int) -> ModelConfig:
    return ModelConfig(
        cell=cell,
        backend=config.backend,
        input_size=task.input_size,
        hidden_size=hidden,
        num_layers=config.num_layers,
        output_size=task.output_size,
    )


def run_one(
    config: CompareConfig, task: TaskData, cell: str, hidden: int, seed: int, device: torch.device
) -> RunResult:
    """Train ``cell`` with ``seed`` on ``task`` and measure it on the test set."""
    with seeded(seed):  # the initial weights depend on the seed only
        model = SequenceModel(_model_config(config, cell, task, hidden)).to(device)
    train = replace(config.train, seed=seed)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        batch = next(task.train.iter_batches(train.batch_size))
        memory = memory_bytes(model, task.loss_fn, batch, device)
    start = time.perf_counter()
    history = fit(
        model,
        task.train,
        task.val,
        train,
        loss_fn=task.loss_fn,
        device=device,
        desc=f"{cell}/{seed}",
    )
    seconds = time.perf_counter() - start
    if device.type == "cuda":
        memory = int(torch.cuda.max_memory_allocated(device))
    x_test, y_test = task.test.tensors()
    metric = task.metric(y_test, predict(model, x_test))
    return RunResult(
        cell=cell,
        seed=seed,
        hidden_size=hidden,
        params=count_parameters(model),
        test_metric=metric,
        solved=metric <= task.solved_below,
        seconds_per_epoch=statistics.median(r.seconds for r in history.records),
        train_seconds=seconds,
        epochs=len(history.records),
        memory_bytes=memory,
        history=history,
    )


def run_series_one(
    config: CompareConfig, task: SeriesTask, cell: str, seed: int, device: torch.device
) -> RunResult:
    """One Forecaster fit on a real series, measured like :func:`run_one`."""
    options = {
        "backend": config.backend,
        "hidden_size": config.hidden_size,
        "num_layers": config.num_layers,
        "device": str(device),
        "progress": config.train.progress,
        **config.series_options,
    }
    run, history = series_run(task, cell, seed, options)
    return RunResult(
        cell=cell,
        seed=seed,
        hidden_size=config.hidden_size,
        solved=run["test_metric"] <= task.solved_below,
        history=history,
        **run,
    )


def summarise(cell: str, runs: list[RunResult]) -> dict[str, Any]:
    """One cell's row: the metric's mean and spread over seeds, and the costs."""
    metrics = [r.test_metric for r in runs]
    return {
        "cell": cell,
        "hidden_size": runs[0].hidden_size,
        "params": runs[0].params,
        "test_metric_mean": statistics.fmean(metrics),
        "test_metric_std": statistics.stdev(metrics) if len(metrics) > 1 else 0.0,
        "test_metric_min": min(metrics),
        "test_metric_max": max(metrics),
        "solved_seeds": sum(r.solved for r in runs),
        "seeds": len(runs),
        "solved": all(r.solved for r in runs),
        "seconds_per_epoch": statistics.median(r.seconds_per_epoch for r in runs),
        "train_seconds_mean": statistics.fmean(r.train_seconds for r in runs),
        "epochs_mean": statistics.fmean(r.epochs for r in runs),
        "memory_mb": _peak_mb([r.memory_bytes for r in runs]),
    }


def _peak_mb(values: list[int | None]) -> float | None:
    measured = [v for v in values if v is not None]
    return max(measured) / 2**20 if measured else None


def check_cells(config: CompareConfig) -> None:
    """Fail on a bad cell/backend name or option before any training or writing."""
    for cell in config.cells:
        SequenceModel(ModelConfig(cell=cell, backend=config.backend, hidden_size=1))
    if len(set(config.cells)) != len(config.cells):
        raise UserError(f"--cells names a cell twice: {','.join(config.cells)}")
    if len(set(config.seeds)) != len(config.seeds):
        raise UserError(f"--seeds names a seed twice: {','.join(map(str, config.seeds))}")


def build_task(config: CompareConfig) -> TaskData:
    """The synthetic task's data for this comparison (the same for every cell and seed)."""
    return make_task(config.task, config.length, sizes=config.sizes, seed=config.data_seed)


def run_cell(
    config: CompareConfig, task: TaskData | SeriesTask, cell: str, device: torch.device
) -> list[RunResult]:
    """Every seed of one cell, each reported on stderr as it finishes."""
    hidden = config.hidden_size
    if config.param_budget is not None and isinstance(task, TaskData):
        hidden = hidden_for_budget(_model_config(config, cell, task, 1), config.param_budget)
    results = []
    for seed in config.seeds:
        if isinstance(task, SeriesTask):
            result = run_series_one(config, task, cell, seed, device)
        else:
            result = run_one(config, task, cell, hidden, seed, device)
        verdict = "solved" if result.solved else "not solved"
        log.info(
            f"{cell} seed {seed}: test {task.metric_name} {result.test_metric:.4g} ({verdict}), "
            f"{result.epochs} epochs in {result.train_seconds:.1f} s"
        )
        results.append(result)
    return results


def run_compare(
    config: CompareConfig, task: TaskData | SeriesTask, out: Path, device: torch.device
) -> dict[str, Any]:
    """Run every cell and seed on ``task``, write ``compare.json`` and ``learning_curves.png``."""
    runs = {cell: run_cell(config, task, cell, device) for cell in config.cells}
    summary = {
        "task": task.name,
        "length": task.length,
        "metric": task.metric_name,
        "baseline": {"name": task.baseline_name, "test_metric": task.baseline},
        "solved_rule": f"test {task.metric_name} <= {task.solved_below / task.baseline:g} x "
        f"the baseline's ({task.solved_below:.4g})",
        "memory_method": _memory_method(task, device),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "results": [summarise(cell, cell_runs) for cell, cell_runs in runs.items()],
        "runs": [
            {
                **{k: v for k, v in asdict(r).items() if k != "history"},
                "history": r.history.to_dict(),
            }
            for cell_runs in runs.values()
            for r in cell_runs
        ],
        "config": asdict(config),
        "versions": environment(),
    }
    write_json(out / "compare.json", summary)
    curves = {cell: [r.history for r in cell_runs] for cell, cell_runs in runs.items()}
    plot_compare_curves(
        curves,
        out / "learning_curves.png",
        baseline=task.baseline_loss,
        title=f"{task.name}" + (f", T={task.length}" if task.length else "") + ": loss per epoch, "
        "one line per seed",
    )
    return summary


def _memory_method(task: TaskData | SeriesTask, device: torch.device) -> str:
    if device.type == "cuda":
        return "torch.cuda.max_memory_allocated during training"
    if isinstance(task, SeriesTask):
        return "not measured on CPU (the Forecaster trains internally)"
    return "activations saved for backward on one batch + 4 x parameter bytes"


def _mb_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def format_table(summary: dict[str, Any]) -> str:
    """The comparison table printed by ``rnnkit compare``."""
    metric = summary["metric"]
    header = (
        f"{'cell':<15}{'test ' + metric + ' (mean ± sd)':>26}{'solved':>8}{'params':>9}"
        f"{'hidden':>7}{'s/epoch':>9}{'epochs':>7}{'memory MB':>10}"
    )
    lines = [header, "-" * len(header)]
    for r in summary["results"]:
        spread = f"{r['test_metric_mean']:.3g} ± {r['test_metric_std']:.2g}"
        lines.append(
            f"{r['cell']:<15}{spread:>26}{str(r['solved_seeds']) + '/' + str(r['seeds']):>8}"
            f"{r['params']:>9d}{r['hidden_size']:>7d}{r['seconds_per_epoch']:>9.2f}"
            f"{r['epochs_mean']:>7.1f}{_mb_text(r['memory_mb']):>10}"
        )
    base = summary["baseline"]
    lines.append(f"trivial baseline ({base['name']}): test {metric} {base['test_metric']:.4g}")
    lines.append(f"solved: {summary['solved_rule']}")
    return "\n".join(lines)
