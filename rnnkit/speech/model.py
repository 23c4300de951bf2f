"""The acoustic model: log-mel frames -> per-frame log-probabilities of blank and the 10 digits.

Frames are optionally stacked ``subsample`` at a time (halving the sequence the recurrent stack
reads at 2), then a recurrent stack of any registry cell (:func:`rnnkit.models.make_recurrent`;
bidirectional for offline recognition, unidirectional for streaming), then a linear head. It is
trained with ``torch.nn.CTCLoss`` (:func:`ctc_loss`). Class 0 is the CTC blank, class ``d + 1``
the digit ``d``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.config import option, option_like, positive_int
from rnnkit.errors import UserError
from rnnkit.models import ModelConfig, make_recurrent
from rnnkit.speech.features import SpecAugment, SpecAugmentConfig

BLANK = 0
NUM_CLASSES = 11  # blank + digits 0-9
State = Any  # a recurrent module's hidden state: h, or (h, c) for LSTM-like cells


@dataclass
class AcousticConfig(ModelConfig):
    """Everything needed to rebuild an :class:`AcousticModel` (saved with it): a ModelConfig
    with the acoustic model's defaults, its input bands and its frame stacking."""

    cell: str = option_like(ModelConfig, "cell", "gru")
    hidden_size: int = option_like(ModelConfig, "hidden_size", 128)  # per direction and layer
    num_layers: int = option_like(ModelConfig, "num_layers", 2)
    dropout: float = option_like(ModelConfig, "dropout", 0.25)  # also before the head
    bidirectional: bool = True  # False: the streaming (left-to-right) model (--stream)
    n_mels: int = 40  # input bands (from the feature config)
    subsample: int = option(
        2, "frames stacked into one recurrent step (1: none)", type=positive_int
    )


class AcousticModel(nn.Module):
    """(batch, frames, n_mels) + frame counts -> (batch, steps, 11) log-probs + step counts."""

    mean: Tensor  # (n_mels,) training-set band means (buffers, saved with the weights)
    std: Tensor  # (n_mels,)

    def __init__(self, config: AcousticConfig, augment: SpecAugmentConfig | None = None) -> None:
        super().__init__()
        if config.subsample < 1:
            raise UserError(f"subsample must be >= 1, got {config.subsample}")
        self.config = config
        # per-band statistics of the training set (identity until set_statistics): global
        # normalisation that works frame by frame, as streaming needs
        self.register_buffer("mean", torch.zeros(config.n_mels))
        self.register_buffer("std", torch.ones(config.n_mels))
        self.augment = SpecAugment(augment) if augment is not None else None
        self.rnn = make_recurrent(
            config.cell,
            config.n_mels * config.subsample,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
            bidirectional=config.bidirectional,
            backend=config.backend,
        )
        self.dropout = nn.Dropout(config.dropout)
        directions = 2 if config.bidirectional else 1
        self.head = nn.Linear(directions * config.hidden_size, NUM_CLASSES)

    def set_statistics(self, mean: Tensor, std: Tensor) -> None:
        self.mean.copy_(mean)
        self.std.copy_(std.clamp(min=1e-5))

    def steps(self, frames: Tensor) -> Tensor:
        """Recurrent steps for ``frames`` input frames (leftover frames are dropped)."""
        return torch.div(frames, self.config.subsample, rounding_mode="floor")

    def _stack(self, x: Tensor) -> Tensor:
        """(B, T, F) -> (B, T // s, s * F): ``s`` consecutive frames side by side."""
        s = self.config.subsample
        batch, frames, bands = x.shape
        usable = frames // s * s
        return x[:, :usable].reshape(batch, usable // s, s * bands)

    def forward(self, x: Tensor, frames: Tensor) -> tuple[Tensor, Tensor]:
        x = (x - self.mean) / self.std
        if self.augment is not None:
            x = self.augment(x, frames)
        x = self._stack(x)
        steps = self.steps(frames).clamp(min=1)
        if self.config.bidirectional:
            # packed, so that the backward direction starts at each row's real last step
            packed = pack_padded_sequence(x, steps.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        else:  # left to right: padding after a row's end cannot change its real steps
            out, _ = self.rnn(x)
        return F.log_softmax(self.head(self.dropout(out)), dim=-1), steps

    def stream(self, frames: Tensor, state: State = None) -> tuple[Tensor, State]:
        """The unidirectional model on the next frames (1, s * k, n_mels) of a stream.

        ``state`` is the hidden state after the previous call (None at the start). Returns the
        k steps' log-probs (1, k, 11) and the state to pass next time.
        """
        if self.config.bidirectional:
            raise UserError("a bidirectional model cannot stream; train with --stream")
        x = self._stack((frames - self.mean) / self.std)
        out, state = self.rnn(x, state)
        return F.log_softmax(self.head(out), dim=-1), state


def ctc_loss(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    """Mean CTC loss per utterance of ``model(x, frames)`` on a :func:`collate` batch."""
    x, frames, labels, label_counts = batch
    log_probs, steps = model(x, frames)  # (B, T', C)
    targets = torch.where(labels >= 0, labels + 1, torch.zeros_like(labels))  # digit d -> d + 1
    return (
        F.ctc_loss(
            log_probs.transpose(0, 1),  # (T', B, C), as CTCLoss wants
            targets,
            steps,
            label_counts,
            blank=BLANK,
            reduction="sum",
            zero_infinity=True,
        )
        / x.shape[0]
    )


def isolated_decisions(log_probs: Tensor, steps: Tensor) -> Tensor:
    """For each utterance, the digit ``d`` whose one-label transcript has the highest CTC
    probability: (B, T', C) log-probs -> (B,) digits. (An isolated-word recogniser always
    answers with exactly one word.)"""
    batch = log_probs.shape[0]
    digits = torch.arange(10)
    lp = log_probs.transpose(0, 1).repeat_interleave(10, dim=1)  # (T', B*10, C)
    targets = (digits + 1).repeat(batch)[:, None]  # (B*10, 1)
    losses = F.ctc_loss(
        lp,
        targets,
        steps.repeat_interleave(10),
        torch.ones(batch * 10, dtype=torch.long),
        blank=BLANK,
        reduction="none",
        zero_infinity=False,
    )
    return losses.reshape(batch, 10).argmin(dim=1)
