"""The speech recogniser API: :class:`DigitRecognizer` (fit, evaluate, transcribe, save, load).

It strings together the features (:mod:`.features`), the acoustic model and its CTC loss
(:mod:`.model`), the decoders (:mod:`.decode`) and rnnkit's shared training loop
(:func:`rnnkit.training.fit`). The data arrives as :class:`rnnkit.speech.data.DigitSpeech`
datasets of ``(features, labels)``, which serve the loop's batches themselves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnnkit.config import (
    non_negative_int,
    option,
    override,
    positive_float,
    positive_int,
    to_flat,
)
from rnnkit.errors import UserError
from rnnkit.models import count_parameters, resolve_device
from rnnkit.runs import load_model_files, load_weights_into, save_model
from rnnkit.speech.data import TASKS, DigitSpeech, PerturbConfig
from rnnkit.speech.decode import beam_decode, digit_error_rate, greedy_decode
from rnnkit.speech.features import FeatureConfig, FeatureExtractor, SpecAugmentConfig
from rnnkit.speech.model import AcousticConfig, AcousticModel, ctc_loss, isolated_decisions
from rnnkit.training import History, TrainConfig, fit, seeded
from rnnkit.training.averaging import WeightAverage

KIND = "speech_ctc"

# per task, for the options left None: the whole cosine schedule (patience 0; the best validation
# epoch is kept); connected utterances are ~7x longer than one digit, so fewer epochs fit
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "isolated": {"epochs": 40, "patience": 0, "subsample": 2, "average_epochs": 10},
    "connected": {"epochs": 8, "patience": 0, "subsample": 3, "average_epochs": 0},
}


@dataclass
class RecognizerConfig:
    """How a :class:`DigitRecognizer` is built and trained (saved with it), and on what."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: AcousticConfig = field(default_factory=AcousticConfig)
    augment: SpecAugmentConfig | None = field(default_factory=SpecAugmentConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            epochs=25, batch_size=32, lr=3e-3, patience=6, log_every=1, weight_decay=0.0
        )
    )
    # waveform changes for the training set (the data side of augmentation; see
    # rnnkit.speech.data.build_datasets)
    perturb: PerturbConfig | None = field(default_factory=PerturbConfig)
    task: str = option(
        "isolated",
        "isolated digits (one recording, one label) or connected digits (3-7 recordings "
        "joined with short gaps)",
        choices=TASKS,
    )
    split: str = option(
        "official", "'official' (repetitions 0-4 test) or 'speaker:NAME' (NAME held out entirely)"
    )
    train_utterances: int = option(
        1500, "connected task: training utterances drawn", type=positive_int
    )
    test_utterances: int = option(
        500, "connected task: validation and test utterances each", type=positive_int
    )
    stream: bool = option(
        False,
        "a unidirectional model with frame-by-frame normalisation that transcribes while audio "
        "arrives (metrics.json also gets its real-time factor)",
    )
    no_augment: bool = option(
        False, "no augmentation (SpecAugment masks; speed and gain changes of the training audio)"
    )
    average_epochs: int | None = option(
        None,
        "use the mean of the weights after each of the last N epochs (0: the weights of the "
        "epoch with the best validation loss)",
        type=non_negative_int,
    )
    beam: int = option(
        0, "also test beam decoding at this width (0: greedy only)", type=non_negative_int
    )


@dataclass
class TranscribeConfig:
    """How ``rnnkit speech transcribe`` decodes a file."""

    stream: bool = option(False, "feed the audio in --chunk-ms pieces to the streaming model")
    chunk_ms: float = option(
        100.0, "milliseconds of audio per piece with --stream", type=positive_float
    )
    beam: int = option(1, "beam width (1: greedy)", type=positive_int)


def streaming_config(config: RecognizerConfig) -> RecognizerConfig:
    """The same recogniser made streamable: left-to-right model, frame-by-frame normalisation."""
    features = replace(config.features, normalisation="global")
    return replace(config, features=features, model=replace(config.model, bidirectional=False))


def for_task(config: RecognizerConfig) -> RecognizerConfig:
    """``config`` with its task's defaults where it holds None, then ``no_augment`` and
    ``stream`` applied."""
    flat = to_flat(config)
    defaults = TASK_DEFAULTS[config.task].items()
    config = override(config, {name: v for name, v in defaults if flat[name] is None})
    if config.no_augment:
        config = replace(config, augment=None, perturb=None)
    return streaming_config(config) if config.stream else config


class DigitRecognizer:
    """Spoken digits to digit strings: a CTC acoustic model with its feature extractor."""

    def __init__(self, config: RecognizerConfig | None = None, *, device: str = "auto") -> None:
        self.config = config or RecognizerConfig()
        self.config.model.n_mels = self.config.features.n_mels
        self.device = resolve_device(device)
        self.extractor = FeatureExtractor(self.config.features)
        with seeded(self.config.train.seed):  # --seed fixes the initial weights too
            self.model = AcousticModel(self.config.model, self.config.augment).to(self.device)
        self.history: History | None = None
        self.train_seconds = 0.0
        # with weight averaging: the weights fit itself kept (the best validation epoch's)
        self.best_epoch_weights: dict[str, Tensor] | None = None

    @property
    def streaming(self) -> bool:
        return not self.config.model.bidirectional

    def features(self, samples: Tensor) -> Tensor:
        """Model input frames (frames, n_mels) of one utterance's samples."""
        return self.extractor(samples)

    def fit(self, train: DigitSpeech, val: DigitSpeech | None, **checkpointing: Any) -> History:
        """Train on ``(features, labels)`` datasets with the shared loop (CTC loss);
        ``checkpointing`` goes to :func:`rnnkit.training.fit` (``run_dir``, ``resume``, ...)."""
        started = time.perf_counter()
        if self.config.features.normalisation == "global":
            self.model.set_statistics(*band_statistics(train))
        average = None
        if self.config.average_epochs and self.config.train.epochs:
            average = WeightAverage(self.config.average_epochs, self.config.train.epochs)
        callbacks = [*checkpointing.pop("callbacks", []), *([average] if average else [])]
        self.history = fit(
            self.model,
            train,
            val,
            self.config.train,
            loss_fn=ctc_loss,
            callbacks=callbacks,
            device=self.device,
            desc="speech",
            **checkpointing,
        )
        resumed = checkpointing.get("run_dir") if checkpointing.get("resume") else None
        mean = average.averaged(resumed) if average is not None else None
        if mean is not None:
            self.best_epoch_weights = {k: v.clone() for k, v in self.model.state_dict().items()}
            self.model.load_state_dict(mean)
        self.train_seconds = time.perf_counter() - started
        self.model.eval()
        return self.history

    @torch.inference_mode()
    def posteriors(self, features: Sequence[Tensor]) -> list[Tensor]:
        """Per-step log-probs (steps, 11) for each utterance's frames (frames, n_mels)."""
        self.model.eval()
        out = []
        for start in range(0, len(features), 64):
            chunk = features[start : start + 64]
            x = torch.nn.utils.rnn.pad_sequence(list(chunk), batch_first=True)
            frames = torch.tensor([f.shape[0] for f in chunk])
            log_probs, steps = self.model(x.to(self.device), frames.to(self.device))
            out += [lp[: int(n)].cpu() for lp, n in zip(log_probs, steps, strict=True)]
        return out

    def transcribe(self, samples: Tensor, *, beam_width: int = 1) -> list[int]:
        """The digits spoken in ``samples`` (greedy decoding at beam width 1)."""
        frames = self.features(samples)
        if self.model.steps(torch.tensor(frames.shape[0])) < 1:
            f = self.config.features
            shortest = f.win_length + (self.config.model.subsample - 1) * f.hop_length
            raise UserError(
                f"the recording is too short to transcribe ({samples.shape[0]} samples; the "
                f"model needs at least {shortest}, {1000 * shortest / f.sample_rate:.0f} ms)"
            )
        (log_probs,) = self.posteriors([frames])
        return greedy_decode(log_probs) if beam_width == 1 else beam_decode(log_probs, beam_width)

    @torch.inference_mode()
    def evaluate(self, data: DigitSpeech, *, beam_width: int = 1) -> dict[str, float]:
        """Digit error rate (and, where every utterance is one digit, accuracy) on ``data``."""
        items = [data[i] for i in range(len(data))]
        posteriors = self.posteriors([f for f, _ in items])
        references = [y.tolist() for _, y in items]
        if beam_width == 1:
            hypotheses = [greedy_decode(lp) for lp in posteriors]
        else:
            hypotheses = [beam_decode(lp, beam_width) for lp in posteriors]
        metrics = {"error_rate": digit_error_rate(references, hypotheses), "utterances": len(items)}
        if all(len(r) == 1 for r in references):  # isolated digits: one forced decision each
            steps = torch.tensor([lp.shape[0] for lp in posteriors])
            padded = torch.nn.utils.rnn.pad_sequence(posteriors, batch_first=True)
            decided = isolated_decisions(padded, steps).tolist()
            correct = sum(d == r[0] for d, r in zip(decided, references, strict=True))
            metrics["accuracy"] = correct / len(items)
            exact = sum(h == r for h, r in zip(hypotheses, references, strict=True))
            metrics["greedy_exact"] = exact / len(items)
        return metrics

    def parameters(self) -> int:
        return count_parameters(self.model)

    def save(self, run_dir: str | Path) -> None:
        meta = {
            "kind": KIND,
            "features": asdict(self.config.features),
            "model": asdict(self.config.model),
            "augment": asdict(self.config.augment) if self.config.augment else None,
            "train": asdict(self.config.train),
            "perturb": asdict(self.config.perturb) if self.config.perturb else None,
        }
        save_model(run_dir, self.model, meta)

    @classmethod
    def load(cls, run_dir: str | Path, *, device: str = "auto") -> DigitRecognizer:
        tensors, meta = load_model_files(run_dir, kind=KIND)
        try:
            augment, perturb = meta.get("augment"), meta.get("perturb")
            config = RecognizerConfig(
                FeatureConfig(**meta["features"]),
                AcousticConfig(**meta["model"]),
                SpecAugmentConfig(**augment) if augment else None,
                TrainConfig(**meta["train"]),
                PerturbConfig(**perturb) if perturb else None,
            )
        except (KeyError, TypeError) as err:
            raise UserError(f"'{run_dir}/model.json' is not a valid speech model ({err})") from None
        recognizer = cls(config, device=device)
        load_weights_into(recognizer.model, tensors, Path(run_dir) / "model.safetensors")
        recognizer.model.eval()
        return recognizer


def band_statistics(data: DigitSpeech) -> tuple[Tensor, Tensor]:
    """Per-band mean and std of every frame in ``data`` (for global normalisation)."""
    total = total_sq = None
    count = 0
    for i in range(len(data)):
        frames = data[i][0].double()
        s, sq = frames.sum(0), frames.square().sum(0)
        total = s if total is None else total + s
        total_sq = sq if total_sq is None else total_sq + sq
        count += frames.shape[0]
    if not count or total is None or total_sq is None:
        raise UserError("the training data holds no frames")
    mean = total / count
    std = (total_sq / count - mean.square()).clamp(min=0).sqrt()
    return mean.float(), std.float()
