"""Spoken digits as training data: the FSDD folder, its splits, isolated and connected digits.

A folder of ``{digit}_{speaker}_{index}.wav`` files (the Free Spoken Digit Dataset's naming) is
read into :class:`Recording` entries, split (``official``: repetitions 0-4 test, the rest train;
``speaker:NAME``: that speaker's recordings are the test set), and served as
:class:`DigitSpeech`: ``(features, labels)`` items that also yields :func:`collate` batches
(``iter_batches``), a batch source of the shared fit loop.

*Connected digits* are generated: 3-7 recordings of one split joined with short noisy gaps; the
transcript is their digit string. Which recordings and gaps make each utterance is drawn from a
seed alone, so a test set is the same on every machine.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.errors import UserError
from rnnkit.speech.features import read_wav

NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$")
TASKS = ("isolated", "connected")
VAL_REPETITIONS = 5  # the lowest repetition numbers of the training part validate


@dataclass(frozen=True)
class Recording:
    path: Path
    digit: int
    speaker: str
    index: int  # the repetition number


def list_recordings(folder: str | Path) -> list[Recording]:
    """Every ``{digit}_{speaker}_{index}.wav`` in ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(
            f"data folder '{folder}' does not exist (get FSDD's 'recordings' folder; see "
            "docs/speech.md)"
        )
    found = []
    for path in sorted(folder.iterdir()):
        match = NAME.match(path.name)
        if match and path.is_file():
            found.append(Recording(path, int(match[1]), match[2], int(match[3])))
    if not found:
        raise UserError(
            f"'{folder}' holds no files named like '{{digit}}_{{speaker}}_{{index}}.wav'"
        )
    return found


@dataclass
class Split:
    train: list[Recording]
    val: list[Recording]
    test: list[Recording]


def split_recordings(recordings: Sequence[Recording], split: str = "official") -> Split:
    """``official`` (repetitions 0-4 test) or ``speaker:NAME`` (NAME's recordings test).

    Validation: the training part's recordings with its five lowest repetition numbers
    (5-9 in the official split, 0-4 of the other speakers in a speaker split).
    """
    if split == "official":
        test = [r for r in recordings if r.index < 5]
        rest = [r for r in recordings if r.index >= 5]
    elif split.startswith("speaker:"):
        name = split.split(":", 1)[1]
        speakers = sorted({r.speaker for r in recordings})
        if name not in speakers:
            known = ", ".join(speakers)
            raise UserError(f"unknown speaker '{name}' in --split; the data has: {known}")
        test = [r for r in recordings if r.speaker == name]
        rest = [r for r in recordings if r.speaker != name]
    else:
        raise UserError(f"unknown split '{split}'; use 'official' or 'speaker:NAME'")
    repetitions = sorted({r.index for r in rest})[:VAL_REPETITIONS]
    val = [r for r in rest if r.index in repetitions]
    train = [r for r in rest if r.index not in repetitions]
    for part, items in (("training", train), ("validation", val), ("test", test)):
        if not items:
            raise UserError(f"the {split} split leaves no {part} recordings in the data folder")
    return Split(train, val, test)


class AudioCache:
    """Each recording's samples, read once (FSDD is 22 minutes of 8 kHz audio: ~42 MB)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._samples: dict[Path, Tensor] = {}

    def __call__(self, recording: Recording) -> Tensor:
        samples = self._samples.get(recording.path)
        if samples is None:
            samples = read_wav(recording.path, self.sample_rate)
            self._samples[recording.path] = samples
        return samples


@dataclass(frozen=True)
class Utterance:
    """A recipe: these recordings in order, ``gaps[i]`` silent samples before recording ``i``
    (and ``gaps[-1]`` after the last one), dither noise drawn from ``seed``."""

    parts: tuple[Recording, ...]
    gaps: tuple[int, ...]
    seed: int

    @property
    def digits(self) -> list[int]:
        return [r.digit for r in self.parts]


@dataclass
class ConnectedConfig:
    """How connected-digit utterances are drawn."""

    min_digits: int = 3
    max_digits: int = 7
    min_gap: float = 0.03  # seconds of silence between (and around) the recordings
    max_gap: float = 0.15
    dither: float = 1e-3  # std of the Gaussian noise over the whole utterance (full scale 1)


def connected_utterances(
    recordings: Sequence[Recording],
    count: int,
    seed: int,
    sample_rate: int,
    config: ConnectedConfig | None = None,
) -> list[Utterance]:
    """``count`` utterance recipes drawn from ``recordings`` with ``random.Random(seed)``."""
    c = config or ConnectedConfig()
    if not 1 <= c.min_digits <= c.max_digits:
        raise UserError("connected digits need 1 <= min_digits <= max_digits")
    if not recordings:
        raise UserError("no recordings to join into connected digits")
    rng = random.Random(f"rnnkit-connected:{seed}")
    pool = list(recordings)
    utterances = []
    for _ in range(count):
        n = rng.randint(c.min_digits, c.max_digits)
        parts = tuple(rng.choice(pool) for _ in range(n))
        gaps = tuple(int(rng.uniform(c.min_gap, c.max_gap) * sample_rate) for _ in range(n + 1))
        utterances.append(Utterance(parts, gaps, rng.getrandbits(31)))
    return utterances


def render(utterance: Utterance, audio: Callable[[Recording], Tensor], dither: float) -> Tensor:
    """The samples of a connected-digit utterance."""
    pieces = []
    for gap, part in zip(utterance.gaps, utterance.parts, strict=False):
        pieces += [torch.zeros(gap), audio(part)]
    pieces.append(torch.zeros(utterance.gaps[-1]))
    samples = torch.cat(pieces)
    if dither > 0:
        noise = torch.randn(samples.shape, generator=torch.Generator().manual_seed(utterance.seed))
        samples = samples + dither * noise
    return samples


@dataclass
class PerturbConfig:
    """Random changes to every training waveform each time it is served."""

    speed: float = 0.1  # resample by a factor in [1 - speed, 1 + speed] (tempo and pitch)
    gain_db: float = 6.0  # scale by a level in [-gain_db, +gain_db] dB


def perturb(samples: Tensor, config: PerturbConfig) -> Tensor:
    """Speed (linear-interpolation resampling) and gain, drawn from torch's global generator
    (seeded by the fit loop)."""
    factor = 1.0 + config.speed * (2 * float(torch.rand(())) - 1)
    length = max(1, round(samples.shape[0] / factor))
    if length != samples.shape[0]:
        samples = F.interpolate(samples[None, None], size=length, mode="linear")[0, 0]
    gain_db = config.gain_db * (2 * float(torch.rand(())) - 1)
    return samples * 10 ** (gain_db / 20)


class DigitSpeech:
    """``(features (frames, bands), labels (digits,))`` items for CTC training and testing.

    ``items`` are recordings (isolated digits: one label each) or :class:`Utterance` recipes
    (connected digits). Features are computed on first use and kept (they are deterministic),
    unless ``perturbation`` is given (training data): then every access draws a new variant.
    """

    def __init__(
        self,
        items: Sequence[Recording | Utterance],
        features: Callable[[Tensor], Tensor],
        audio: AudioCache,
        dither: float = 0.0,
        perturbation: PerturbConfig | None = None,
    ) -> None:
        self.items = list(items)
        self.perturbation = perturbation
        self.features = features
        self.audio = audio
        self.dither = dither
        self._cache: dict[int, Tensor] = {}

    def __len__(self) -> int:
        return len(self.items)

    def samples(self, i: int) -> Tensor:
        item = self.items[i]
        if isinstance(item, Utterance):
            return render(item, self.audio, self.dither)
        return self.audio(item)

    def labels(self, i: int) -> list[int]:
        item = self.items[i]
        return item.digits if isinstance(item, Utterance) else [item.digit]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        labels = torch.tensor(self.labels(i), dtype=torch.long)
        if self.perturbation is not None:
            return self.features(perturb(self.samples(i), self.perturbation)), labels
        features = self._cache.get(i)
        if features is None:
            features = self.features(self.samples(i))
            self._cache[i] = features
        return features, labels

    def iter_batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[tuple[Tensor, ...]]:
        """:func:`collate` batches: the shared fit loop's batch source."""
        order = torch.randperm(len(self), generator=generator) if shuffle else range(len(self))
        for start in range(0, len(self), batch_size):
            yield collate([self[int(i)] for i in order[start : start + batch_size]])


def collate(items: Sequence[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A batch for CTC: (features (B, T, F) zero-padded, frame counts (B,), labels (B, L)
    padded with -1, label counts (B,))."""
    features = [f for f, _ in items]
    labels = [y for _, y in items]
    frames = torch.tensor([f.shape[0] for f in features], dtype=torch.long)
    label_counts = torch.tensor([y.shape[0] for y in labels], dtype=torch.long)
    x = torch.nn.utils.rnn.pad_sequence(features, batch_first=True)
    y = torch.nn.utils.rnn.pad_sequence(labels, batch_first=True, padding_value=-1)
    return x, frames, y, label_counts


def build_datasets(
    folder: str | Path,
    task: str,
    split: str,
    features: Callable[[Tensor], Tensor],
    sample_rate: int,
    *,
    seed: int = 0,
    train_utterances: int = 3000,
    eval_utterances: int = 500,
    connected: ConnectedConfig | None = None,
    perturbation: PerturbConfig | None = None,
) -> tuple[DigitSpeech, DigitSpeech, DigitSpeech]:
    """(train, validation, test) datasets for ``task`` on ``split`` of the FSDD folder.

    Connected digits: ``train_utterances`` drawn from the training recordings with ``seed``;
    validation and test sets (``eval_utterances`` each) use fixed seeds, so every model is tested
    on the same utterances. ``perturbation`` applies to the training set only.
    """
    if task not in TASKS:
        raise UserError(f"unknown task '{task}'; choose one of: {', '.join(TASKS)}")
    parts = split_recordings(list_recordings(folder), split)
    audio = AudioCache(sample_rate)
    if task == "isolated":
        return (
            DigitSpeech(parts.train, features, audio, perturbation=perturbation),
            DigitSpeech(parts.val, features, audio),
            DigitSpeech(parts.test, features, audio),
        )
    c = connected or ConnectedConfig()

    def utterances(part: list[Recording], count: int, seed: int) -> list[Utterance]:
        return connected_utterances(part, count, seed, sample_rate, c)

    train = utterances(parts.train, train_utterances, seed)
    return (
        DigitSpeech(train, features, audio, c.dither, perturbation),
        DigitSpeech(utterances(parts.val, eval_utterances, 1_000_001), features, audio, c.dither),
        DigitSpeech(utterances(parts.test, eval_utterances, 2_000_002), features, audio, c.dither),
    )
