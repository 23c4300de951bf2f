"""The training checkpoint: everything needed to continue a run exactly where it stopped.

One file, ``RUN/checkpoint.safetensors``, written atomically (a temporary file, fsync, then
``os.replace``) so that a crash at any moment leaves either the previous checkpoint or the new
one, never half of each. Its tensors are named by what they hold:

- ``model.<name>``: the weights; ``best.<name>``: the best weights seen on validation
- ``optim.state.<param>.<name>``: the optimiser's per-parameter state (e.g. ``exp_avg``)
- ``rng.torch``, ``rng.cuda.<i>``, ``rng.numpy``, ``rng.python``: random states, as uint8 tensors
- ``loss.<name>``: the loss function's own state, when it has ``state_dict``/``load_state_dict``

A training data source with ``state_dict``/``load_state_dict`` (e.g. a sampler's private random
generator) keeps its JSON-able state in the progress, under ``"data"``.

Everything else (format, epoch, step, history, learning rates, the config, the rest of the numpy
and python random states) is JSON in the file's header metadata under ``"rnnkit"``; read it with
``safetensors.safe_open(path, "pt").metadata()``. Loading parses JSON and tensors only: it never
unpickles and never takes a file name from the metadata.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from rnnkit.errors import UserError
from rnnkit.runs import _plain, atomic_write, check_format, environment, load_weights_into
from rnnkit.training import distributed
from rnnkit.training.seeding import seed_everything
from rnnkit.training.state import LoopState, TrainingRun, diverged_error

CHECKPOINT = "checkpoint.safetensors"
FORMAT = "rnnkit-training-state"
FORMAT_VERSION = 1
# Settings that shape the trajectory: a resumed run must use the ones it was started with.
RESUME_FIELDS: tuple[str, ...] = ("epochs", "batch_size", "lr", "min_lr_ratio", "warmup_epochs")
RESUME_FIELDS += ("weight_decay", "clip_norm", "seed")


def checkpoint_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT


def _prefixed(prefix: str, tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """CPU, contiguous copies under ``prefix.``; safetensors refuses tensors sharing memory."""
    return {
        f"{prefix}.{k}": v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()
    }


def _strip(prefix: str, tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    start = len(prefix) + 1
    return {k[start:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def _bytes(array: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(array).view(np.uint8).copy())


def rng_state() -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Every random state of this process: tensors and the JSON-able remainder."""
    version, words, gauss = random.getstate()
    _, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    tensors = {
        "rng.torch": torch.get_rng_state(),
        "rng.numpy": _bytes(np.asarray(keys, dtype=np.uint32)),
        "rng.python": _bytes(np.asarray(words, dtype=np.uint32)),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    rest = {"python": [version, gauss], "numpy": [int(pos), int(has_gauss), float(cached)]}
    return tensors, rest


def restore_rng(tensors: dict[str, Tensor], rest: dict[str, Any]) -> None:
    """Put back the states captured by :func:`rng_state` (CUDA's only when the GPUs match)."""
    torch.set_rng_state(tensors["rng.torch"])
    keys = tensors["rng.numpy"].numpy().view(np.uint32)
    pos, has_gauss, cached = rest["numpy"]
    np.random.set_state(("MT19937", keys, pos, has_gauss, cached))
    words = tuple(int(w) for w in tensors["rng.python"].numpy().view(np.uint32))
    version, gauss = rest["python"]
    random.setstate((version, words, gauss))
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], list[float]]:
    """The optimiser state flattened to ``optim.state.<param>.<name>``, and each group's lr."""
    state = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    for param, values in state["state"].items():
        for name, value in values.items():
            value = value if isinstance(value, Tensor) else torch.tensor(value)
            tensors[f"optim.state.{param}.{name}"] = value
    return tensors, [float(group["lr"]) for group in state["param_groups"]]


def restore_optimizer(
    optimizer: torch.optim.Optimizer, tensors: dict[str, Tensor], lrs: list[float], source: Path
) -> None:
    """Load flattened state into ``optimizer`` (built with the same config), checking shapes."""
    current = optimizer.state_dict()
    params = {p for group in current["param_groups"] for p in group["params"]}
    shapes = {i: p.shape for i, p in enumerate(_parameters(optimizer))}
    state: dict[int, dict[str, Tensor]] = {}
    for key, value in _strip("optim.state", tensors).items():
        param, _, name = key.partition(".")
        index = int(param) if param.isdigit() else -1
        if index not in params or (value.dim() > 0 and value.shape != shapes[index]):
            raise UserError(f"the optimiser state in '{source}' does not fit this model ({key})")
        state.setdefault(index, {})[name] = value
    if len(lrs) != len(current["param_groups"]):
        raise UserError(f"the optimiser state in '{source}' does not fit this model")
    for group, lr in zip(current["param_groups"], lrs, strict=True):
        group["lr"] = lr
    optimizer.load_state_dict({"state": state, "param_groups": current["param_groups"]})


def _parameters(optimizer: torch.optim.Optimizer) -> list[Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


def save_checkpoint(
    run_dir: str | Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    progress: dict[str, Any],
    best: dict[str, Tensor] | None,
    loss_fn: Callable[..., Any] | None = None,
) -> Path:
    """Write the training state atomically; ``progress`` is the loop's JSON-able position."""
    path = checkpoint_path(run_dir)
    optim, lrs = optimizer_tensors(optimizer)
    rngs, rng_rest = rng_state()
    tensors = {**_prefixed("model", model.state_dict()), **optim, **rngs}
    if best is not None:
        tensors.update(_prefixed("best", best))
    if callable(getattr(loss_fn, "state_dict", None)):
        tensors.update(_prefixed("loss", loss_fn.state_dict()))  # type: ignore[union-attr]
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": environment(),
        "progress": progress,
        "optim_lrs": lrs,
        "rng": rng_rest,
    }
    header = {"rnnkit": json.dumps(_plain(meta), allow_nan=False)}
    atomic_write(path, lambda tmp: _save_synced(tensors, tmp, header))
    return path


def _save_synced(tensors: dict[str, Tensor], tmp: str, header: dict[str, str]) -> None:
    save_file(tensors, tmp, metadata=header)
    with open(tmp, "rb") as written:  # on disk before the rename makes it the checkpoint
        os.fsync(written.fileno())


def read_checkpoint(run_dir: str | Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The tensors and JSON of RUN/checkpoint.safetensors; anything else is a UserError."""
    path = checkpoint_path(run_dir)
    if not path.is_file():
        raise UserError(f"there is no training checkpoint '{path}' to resume from")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        meta = json.loads(header["rnnkit"])
    except (SafetensorError, OSError, ValueError, RuntimeError, KeyError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"'{path}' is not an rnnkit training checkpoint ({reason})") from None
    meta = check_format(
        meta, fmt=FORMAT, version=FORMAT_VERSION, source=path, what="training checkpoint"
    )
    return tensors, meta


def load_checkpoint(
    run_dir: str | Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[..., Any] | None = None,
    restore_random: bool = True,
) -> tuple[dict[str, Any], dict[str, Tensor] | None]:
    """Restore model, optimiser, loss state and random states; returns (progress, best weights)."""
    path = checkpoint_path(run_dir)
    tensors, meta = read_checkpoint(run_dir)
    try:
        load_weights_into(model, _strip("model", tensors), path)
        restore_optimizer(optimizer, tensors, list(meta["optim_lrs"]), path)
        if restore_random:
            restore_rng(tensors, meta["rng"])
        loss_state = _strip("loss", tensors)
        if loss_state and callable(getattr(loss_fn, "load_state_dict", None)):
            loss_fn.load_state_dict(loss_state)  # type: ignore[union-attr]
        progress = meta["progress"]
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise UserError(
            f"'{path}' is damaged or incomplete ({type(err).__name__}: {err})"
        ) from None
    best = _strip("best", tensors) or None
    return progress, best


def save(run: TrainingRun) -> None:
    """Write the checkpoint (rank 0; every process takes part in summing the epoch's loss)."""
    if run.run_dir is None:
        return
    if not all(bool(torch.isfinite(p).all()) for p in run.model.parameters()):
        raise diverged_error(
            run, "a weight became NaN or infinite", run.state.epoch, run.state.step - 1
        )
    state = run.state
    loss_sum, loss_count = distributed.all_reduce_sum(
        [state.loss_sum, state.loss_count], run.context
    )
    if run.context.rank == 0:
        progress = {
            **asdict(state),
            "loss_sum": loss_sum,
            "loss_count": int(loss_count),
            "config": asdict(run.config),
            "world_size": run.context.world,
        }
        if callable(getattr(run.train_data, "state_dict", None)):
            progress["data"] = run.train_data.state_dict()  # type: ignore[attr-defined]
        save_checkpoint(
            run.run_dir,
            model=run.model,
            optimizer=run.optimizer,
            progress=progress,
            best=run.best,
            loss_fn=run.loss_fn,
        )
    run.saved_at = state.position()


def resume_from(run: TrainingRun) -> None:
    """Load ``run.run_dir``'s checkpoint into the model, optimiser, random states and loop."""
    assert run.run_dir is not None
    context, config = run.context, run.config
    progress, best = load_checkpoint(
        run.run_dir,
        model=run.model,
        optimizer=run.optimizer,
        loss_fn=run.loss_fn,
        restore_random=context.rank == 0,
    )
    path = checkpoint_path(run.run_dir)
    try:
        saved = progress["config"]
        run.state = LoopState.from_dict(progress)
        if "data" in progress and callable(getattr(run.train_data, "load_state_dict", None)):
            run.train_data.load_state_dict(progress["data"])  # type: ignore[attr-defined]
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"'{path}' is damaged or incomplete ({err})") from None
    for name in RESUME_FIELDS:
        if saved.get(name) != getattr(config, name):
            raise UserError(
                f"'{path}' was made with {name}={saved.get(name)!r}, not "
                f"{getattr(config, name)!r}; resume with the settings the run started with"
            )
    if context.rank != 0:  # rank 0 carries the epoch's summed loss; the others start afresh
        run.state.loss_sum, run.state.loss_count = 0.0, 0
        seed_everything(abs(hash((config.seed, context.rank, run.state.epoch, run.state.step))))
    run.best = None if best is None else {k: v.to(context.device) for k, v in best.items()}
    run.saved_at = run.state.position()
