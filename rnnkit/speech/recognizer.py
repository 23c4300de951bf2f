"""The speech recogniser API: :class:`DigitRecognizer` (fit, evaluate, transcribe, save, load).

It strings together the features (:mod:`.features`), the acoustic model and its CTC loss
(:mod:`.model`), the decoders (:mod:`.decode`) and rnnkit's shared training loop
(:func:`rnnkit.train.fit`). The data arrives as a ``torch.utils.data.Dataset`` of
``(features, labels)`` with :func:`rnnkit.speech.data.collate`; the only piece that knows the
current loop's batch-source protocol is :class:`LoaderSource` below.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from rnnkit.errors import UserError
from rnnkit.models import count_parameters
from rnnkit.runs import load_model_files, load_weights_into, save_model
from rnnkit.speech.data import PerturbConfig, collate
from rnnkit.speech.decode import beam_decode, digit_error_rate, greedy_decode
from rnnkit.speech.features import FeatureConfig, FeatureExtractor, SpecAugmentConfig
from rnnkit.speech.model import AcousticConfig, AcousticModel, ctc_loss, isolated_decisions
from rnnkit.train import History, TrainConfig, fit

KIND = "speech_ctc"


# --- adapter: the current fit loop's batch-source protocol ------------------------------------
# rnnkit.train.fit (today) asks for an object with len() and iter_batches(batch_size, shuffle,
# generator); the redesigned loop takes torch.utils.data loaders directly. This class is the
# only place that speaks the old protocol: drop it when the new loop lands.
class LoaderSource:
    """A Dataset + collate function served as the fit loop's batch source."""

    def __init__(self, dataset: Dataset, collate_fn: Any = collate) -> None:
        self.dataset, self.collate_fn = dataset, collate_fn

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def iter_batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[tuple[Tensor, ...]]:
        loader = DataLoader(
            self.dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            generator=generator,
            collate_fn=self.collate_fn,
        )
        yield from loader


# --- end of adapter ---------------------------------------------------------------------------


@dataclass
class RecognizerConfig:
    """How a :class:`DigitRecognizer` is built and trained (saved with it)."""

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


def streaming_config(config: RecognizerConfig) -> RecognizerConfig:
    """The same recogniser made streamable: left-to-right model, frame-by-frame normalisation."""
    features = FeatureConfig(**{**asdict(config.features), "normalisation": "global"})
    model = AcousticConfig(**{**asdict(config.model), "bidirectional": False})
    return RecognizerConfig(features, model, config.augment, config.train, config.perturb)


class DigitRecognizer:
    """Spoken digits to digit strings: a CTC acoustic model with its feature extractor."""

    def __init__(self, config: RecognizerConfig | None = None) -> None:
        self.config = config or RecognizerConfig()
        self.config.model.n_mels = self.config.features.n_mels
        self.extractor = FeatureExtractor(self.config.features)
        self.model = AcousticModel(self.config.model, self.config.augment)
        self.history: History | None = None
        self.train_seconds = 0.0

    @property
    def streaming(self) -> bool:
        return not self.config.model.bidirectional

    def features(self, samples: Tensor) -> Tensor:
        """Model input frames (frames, n_mels) of one utterance's samples."""
        return self.extractor(samples)

    def fit(self, train: Dataset, val: Dataset | None, **fit_options: Any) -> History:
        """Train on ``(features, labels)`` datasets with the shared loop (CTC loss)."""
        started = time.perf_counter()
        if self.config.features.normalisation == "global":
            self.model.set_statistics(*band_statistics(train))
        self.history = fit(
            self.model,
            LoaderSource(train),
            LoaderSource(val) if val is not None else None,
            self.config.train,
            loss_fn=ctc_loss,
            desc="speech",
            **fit_options,
        )
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
            log_probs, steps = self.model(x, frames)
            out += [lp[: int(n)] for lp, n in zip(log_probs, steps, strict=True)]
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
    def evaluate(self, data: Dataset, *, beam_width: int = 1) -> dict[str, float]:
        """Digit error rate (and, where every utterance is one digit, accuracy) on ``data``."""
        items = [data[i] for i in range(len(data))]  # type: ignore[arg-type]
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
    def load(cls, run_dir: str | Path) -> DigitRecognizer:
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
        recognizer = cls(config)
        load_weights_into(recognizer.model, tensors, Path(run_dir) / "model.safetensors")
        recognizer.model.eval()
        return recognizer


def band_statistics(data: Dataset) -> tuple[Tensor, Tensor]:
    """Per-band mean and std of every frame in ``data`` (for global normalisation)."""
    total = total_sq = None
    count = 0
    for i in range(len(data)):  # type: ignore[arg-type]
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
