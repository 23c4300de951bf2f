"""The fit loop: ``fit -> run_epoch -> train_step``, with checkpoints, resume, signals and DDP.

The parts live beside it in :mod:`rnnkit.training` (config, history, losses, state, one step,
evaluation, the schedule). With a run folder, the whole training state is checkpointed
(:mod:`.checkpoint`) at the end of every epoch and every ``checkpoint_every`` steps, and
``resume=True`` continues from it bit for bit. SIGINT/SIGTERM stop after the current step
(:mod:`.interrupts`); a NaN or infinite loss stops with TrainingDiverged before it reaches the
weights or a checkpoint. Under ``torchrun`` the same code trains with DistributedDataParallel
(:mod:`.distributed`); only rank 0 writes.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from rnnkit.errors import UserError
from rnnkit.training import distributed
from rnnkit.training.callbacks import StepEnd, call
from rnnkit.training.checkpoint import checkpoint_path, resume_from, save
from rnnkit.training.config import TrainConfig
from rnnkit.training.history import EpochRecord, History
from rnnkit.training.interrupts import TrainingInterrupted, signal_name
from rnnkit.training.losses import LossFn, regression_loss
from rnnkit.training.optim import OptimizerFactory, Schedule, adamw, budget_lr, cosine_lr
from rnnkit.training.seeding import seed_everything, seeded
from rnnkit.training.state import TrainingDiverged, TrainingRun, diverged_error
from rnnkit.training.step import (
    BatchSource,
    _start_pass,
    compiled,
    evaluate,
    to_device,
    train_step,
    use_bf16,
)

log = logging.getLogger(__name__)

__all__ = ["fit", "prepare", "run_epoch"]

# what a run has when prepare() is not told otherwise (fit's defaults)
RUN_DEFAULTS: dict[str, Any] = {
    "loss_fn": regression_loss,
    "schedule": cosine_lr,
    "callbacks": (),
    "run_dir": None,
    "checkpoint_every": 0,
    "resume_hint": None,
}


def run_epoch(run: TrainingRun, data: BatchSource, epoch: int) -> float:
    """Train one pass over ``data`` (its remaining steps, after a mid-epoch resume).

    Returns the example-weighted mean training loss of the epoch, over every process.
    """
    state, config = run.state, run.config
    run.train_model.train()
    if state.step == 0:  # a mid-epoch resume restored the loss function's state instead
        _start_pass(run.loss_fn)
    started = time.perf_counter() - state.seconds  # a resumed epoch keeps its earlier time
    batches = distributed.epoch_batches(
        data, config.batch_size, config.seed, epoch, state.step, run.context
    )
    for step, batch in batches:
        if run.deadline < math.inf:  # a time budget: the lr also decays with the time spent
            _set_lr(run, epoch, 1 - (run.deadline - time.perf_counter()) / 60 / config.max_minutes)
        try:
            result = train_step(
                run.train_model,
                to_device(batch, run.context.device),
                run.loss_fn,
                run.optimizer,
                config.clip_norm,
                autocast=run.autocast,
                context=run.context,
            )
        except TrainingDiverged as err:
            raise diverged_error(run, str(err), epoch, step) from None
        n = int(batch[0].shape[0])
        state.loss_sum += result.loss * n
        state.loss_count += n
        state.step = step + 1
        state.seconds = time.perf_counter() - started
        lr = run.optimizer.param_groups[0]["lr"]
        end = StepEnd(epoch, state.step, result.loss, lr, result.grad_norm)
        call(run.callbacks, "on_step", run, end)
        _stop_if_asked(run)
        if run.checkpoint_every and state.step % run.checkpoint_every == 0:
            save(run)
        if run.out_of_time():
            state.history.out_of_time = True  # the time budget is spent: every rank stops here
            break
    total, count = distributed.all_reduce_sum([state.loss_sum, state.loss_count], run.context)
    return total / max(count, 1)


def _stop_if_asked(run: TrainingRun) -> None:
    """After a step: if any process caught SIGINT/SIGTERM, checkpoint, say so and stop."""
    signal_number = distributed.max_over_ranks(run.stop.received, run.context)
    if not signal_number:
        return
    save(run)
    if run.context.rank == 0:
        where = run.state.position()
        if run.run_dir is None:
            said = "nothing was saved (no run folder)"
        else:
            hint = run.resume_hint or f"fit(..., run_dir='{run.run_dir}', resume=True)"
            said = f"saved '{checkpoint_path(run.run_dir)}'; resume with: {hint}"
        log.warning("rnnkit: %s at %s: stopped; %s", signal_name(signal_number), where, said)
    raise TrainingInterrupted(signal_number)


def fit(
    model: nn.Module,
    train: BatchSource,
    val: BatchSource | None,
    config: TrainConfig,
    *,
    loss_fn: LossFn = regression_loss,
    optimizer: OptimizerFactory = adamw,
    schedule: Schedule = cosine_lr,
    callbacks: Sequence[object] = (),
    device: torch.device | None = None,
    desc: str = "train",
    run_dir: str | Path | None = None,
    resume: bool = False,
    checkpoint_every: int = 0,
    resume_hint: str | None = None,
) -> History:
    """Train ``model``; stop early on ``val`` and restore the best weights.

    ``optimizer(params, config)`` builds the optimiser (default AdamW) and ``schedule(epoch,
    config)`` sets each epoch's learning rate (default: warm-up + cosine); ``callbacks`` see
    every step and epoch (:mod:`rnnkit.training.callbacks`). ``run_dir``: checkpoint the
    training state there at the end of every epoch and every ``checkpoint_every`` steps (0:
    epoch ends only); ``resume``: continue from that checkpoint. ``resume_hint`` is the command
    logged when SIGINT/SIGTERM stops training (which raises TrainingInterrupted). Under
    torchrun, ``config.batch_size`` is the global batch. The caller's global random states are
    left as they were (training seeds its own from ``config.seed``).
    """
    if resume and run_dir is None:
        raise UserError("resuming needs the run folder that holds the checkpoint")
    if checkpoint_every < 0:
        raise UserError(f"checkpoint_every must be >= 0, got {checkpoint_every}")
    if config.epochs is None:
        raise UserError("the number of epochs is not set (TrainConfig.epochs is None)")
    with seeded():
        run = prepare(
            model,
            config,
            loss_fn=loss_fn,
            optimizer=optimizer,
            schedule=schedule,
            callbacks=callbacks,
            device=device,
            run_dir=Path(run_dir) if run_dir else None,
            checkpoint_every=checkpoint_every,
            resume_hint=resume_hint,
            train_data=train,
        )
        if resume:
            resume_from(run)
        run.train_model = compiled(distributed.wrap(model, run.context), config)
        if config.max_minutes:
            run.deadline = time.perf_counter() + 60 * config.max_minutes
        state, bar = run.state, _progress_bar(run, desc)
        with run.stop:
            for epoch in bar:
                lr = _set_lr(run, epoch)
                # one pass over the training data (or its rest, after a resume), then validation
                start = time.perf_counter() - state.seconds
                train_loss = run_epoch(run, train, epoch)
                val_loss = None
                if val is not None:
                    val_loss = evaluate(
                        model, val, loss_fn, autocast=run.autocast, context=run.context
                    )
                seconds = time.perf_counter() - start
                if _end_epoch(
                    run, bar, EpochRecord(epoch + 1, train_loss, val_loss, lr, seconds), desc
                ):
                    break
            bar.close()
            if bar.total:  # not when resuming a finished run
                call(run.callbacks, "on_end", run)
    if run.best is not None:
        model.load_state_dict(run.best)
    return run.state.history


def prepare(
    model: nn.Module,
    config: TrainConfig,
    *,
    optimizer: OptimizerFactory = adamw,
    device: torch.device | None = None,
    **parts: Any,
) -> TrainingRun:
    """Join torchrun's job if any, place and seed, build the optimiser: a run at its start.

    ``parts`` are the other fields of :class:`TrainingRun` (``loss_fn``, ``schedule``,
    ``callbacks``, ``run_dir``, ``checkpoint_every``, ``resume_hint``), as :func:`fit` passes
    them; unset ones take :data:`RUN_DEFAULTS`.
    """
    context = distributed.setup(device or next(model.parameters()).device)
    if config.batch_size % context.world:
        raise UserError(
            f"the batch size {config.batch_size} must be divisible by the {context.world} "
            "processes (each trains on batch size / processes)"
        )
    model.to(context.device)
    seed_everything(config.seed + context.rank)  # dropout differs per rank; the order does not
    return TrainingRun(
        model=model,
        train_model=model,
        optimizer=optimizer(model.parameters(), config),
        config=config,
        context=context,
        autocast=use_bf16(config.precision, context.device),
        **{**RUN_DEFAULTS, **parts},
    )


def _progress_bar(run: TrainingRun, desc: str) -> Any:
    """The epochs still to train, as a tqdm bar (shown on rank 0 with progress on); none when
    resuming a run that had already stopped early."""
    state, config = run.state, run.config
    total = 0 if state.history.stopped_early else (config.epochs or 0)
    return tqdm(
        range(state.epoch, max(total, state.epoch)),
        initial=state.epoch,
        total=total,
        desc=desc,
        disable=not (config.progress and run.context.rank == 0),
        file=sys.stderr,
    )


def _set_lr(run: TrainingRun, epoch: int, spent: float = 0.0) -> float:
    """The epoch's learning rate, a pure function of the epoch (lowered as the ``spent`` share
    of a time budget grows: ``budget_lr``), set on every param group."""
    lr = budget_lr(run.schedule(epoch, run.config), spent, run.config)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    return lr


def _end_epoch(run: TrainingRun, bar: Any, record: EpochRecord, desc: str) -> bool:
    """Keep the best weights, checkpoint, log, call back; whether to stop early."""
    state, config = run.state, run.config
    # keep the best weights seen on validation (or the latest, without validation)
    _keep_best(run, record)
    # checkpoint, log, then stop once validation has not improved for `patience` epochs
    history = state.history
    history.stopped_early = history.out_of_time or (
        bool(config.patience) and record.epoch - history.best_epoch >= config.patience
    )
    state.epoch, state.step = record.epoch, 0
    state.loss_sum, state.loss_count, state.seconds = 0.0, 0, 0.0
    save(run)
    _log(run, bar, record, desc)
    call(run.callbacks, "on_epoch", run, record)
    _stop_if_asked(run)
    return history.stopped_early


def _keep_best(run: TrainingRun, record: EpochRecord) -> None:
    """Append ``record``; remember the weights if its monitored loss is the best so far."""
    history = run.state.history
    history.records.append(record)
    monitored = record.val_loss if record.val_loss is not None else record.train_loss
    if history.best_val_loss is None or monitored < history.best_val_loss:
        history.best_val_loss, history.best_epoch = monitored, record.epoch
        run.best = {k: v.detach().clone() for k, v in run.model.state_dict().items()}


def _log(run: TrainingRun, bar: Any, record: EpochRecord, desc: str) -> None:
    """Progress bar postfix, or a log line every ``log_every`` epochs without a bar (rank 0)."""
    config = run.config
    monitored = record.val_loss if record.val_loss is not None else record.train_loss
    bar.set_postfix(train=f"{record.train_loss:.3g}", val=f"{monitored:.3g}")
    every = config.log_every
    if run.context.rank or not every or record.epoch % every or config.progress:
        return
    log.info(
        f"{desc} epoch [{record.epoch}/{config.epochs}] train loss {record.train_loss:.4g}"
        + (f", val loss {record.val_loss:.4g}" if record.val_loss is not None else "")
    )
