"""Audio in, features out: WAV reading, log-mel features in torch, SpecAugment masking.

The features are framed without centring (``torch.stft(center=False)``): frame ``t`` covers
samples ``[t * hop, t * hop + win)``. That makes them computable chunk by chunk while audio
arrives (:class:`rnnkit.speech.stream.StreamingTranscriber`) with exactly the values the whole
file gives.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.config import option, positive_int
from rnnkit.errors import UserError

NORMALISATIONS = ("utterance", "global")


@dataclass
class FeatureConfig:
    """How audio becomes log-mel frames (saved with every model)."""

    sample_rate: int = 8000  # Hz; other rates are refused, not resampled
    win_length: int = 200  # samples per frame (25 ms at 8 kHz)
    hop_length: int = 80  # samples between frame starts (10 ms at 8 kHz)
    n_fft: int = 256  # FFT size (>= win_length)
    n_mels: int = option(40, "mel bands of the log-mel features", type=positive_int)
    f_min: float = 20.0  # Hz, lowest filter edge
    f_max: float | None = None  # Hz, highest filter edge (None: the Nyquist frequency)
    log_floor: float = 1e-6  # added to the mel power before the log
    # "utterance": each utterance's bands scaled to mean 0 / std 1 (needs the whole utterance);
    # "global": fixed per-band statistics of the training set, applied frame by frame (streamable)
    normalisation: str = option(
        "utterance",
        "feature normalisation: per utterance, or the training set's per-band statistics "
        "('global'; always so with --stream)",
        choices=NORMALISATIONS,
    )


def read_wav(path: str | Path, sample_rate: int | None = None) -> Tensor:
    """A mono WAV file as float32 samples in [-1, 1], shape (samples,).

    PCM 8/16/24/32-bit via the standard library's ``wave``; other encodings (e.g. float WAV) via
    ``soundfile`` when that optional package is installed. Anything that is not a readable mono
    WAV at ``sample_rate`` (when given), or holds no samples, is a UserError.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"audio file '{path}' does not exist")
    try:
        with wave.open(str(path), "rb") as reader:
            channels, width = reader.getnchannels(), reader.getsampwidth()
            rate, raw = reader.getframerate(), reader.readframes(reader.getnframes())
        samples = _pcm_to_float(raw, width)
    except (wave.Error, EOFError) as err:
        channels, rate, samples = _read_with_soundfile(path, err)
    except OSError as err:
        raise UserError(f"cannot read '{path}': {err.strerror or err}") from None
    if channels != 1:
        raise UserError(f"'{path}' has {channels} channels; expected a mono recording")
    if sample_rate is not None and rate != sample_rate:
        raise UserError(
            f"'{path}' is sampled at {rate} Hz; the model expects {sample_rate} Hz (resample it, "
            f"e.g. with 'sox in.wav -r {sample_rate} out.wav')"
        )
    if samples.numel() == 0:
        raise UserError(f"'{path}' holds no audio samples")
    return samples


def _pcm_to_float(raw: bytes, width: int) -> Tensor:
    """Little-endian PCM bytes (``width`` bytes per sample) as floats in [-1, 1]."""
    if width == 1:  # 8-bit WAV is unsigned
        values = np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0
    elif width == 2:
        values = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    elif width == 3:  # 24-bit: widen each sample to 32 bits, then drop the low byte again
        triples = np.frombuffer(raw[: len(raw) // 3 * 3], dtype=np.uint8).reshape(-1, 3)
        padded = np.zeros((len(triples), 4), dtype=np.uint8)
        padded[:, 1:] = triples
        values = (padded.view("<i4").ravel() >> 8).astype(np.float32)
    elif width == 4:
        values = np.frombuffer(raw, dtype="<i4").astype(np.float32)
    else:
        raise wave.Error(f"unsupported sample width {width} bytes")
    return torch.from_numpy(values / float(2 ** (8 * width - 1)))


def _read_with_soundfile(path: Path, cause: Exception) -> tuple[int, int, Tensor]:
    """(channels, rate, mono samples) via soundfile; the ``wave`` error when it cannot help."""
    try:
        import soundfile  # optional: the 'speech' extra
    except ImportError:
        soundfile = None
    if soundfile is not None:
        try:
            data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        except (RuntimeError, soundfile.LibsndfileError):
            pass
        else:
            return int(data.shape[1]), int(rate), torch.from_numpy(np.ascontiguousarray(data[:, 0]))
    raise UserError(f"'{path}' is not a PCM WAV file rnnkit can read ({cause})") from None


def mel_scale(hz: Tensor | float) -> Tensor:
    """Hertz to mel (the HTK formula)."""
    return 2595.0 * torch.log10(1.0 + torch.as_tensor(hz, dtype=torch.float64) / 700.0)


def mel_to_hz(mel: Tensor) -> Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, f_min: float, f_max: float) -> Tensor:
    """Triangular filters, equally spaced in mel, over the ``n_fft // 2 + 1`` FFT bins.

    Returns (n_mels, bins): filter ``m`` rises from centre ``m - 1`` to a peak of 1 at centre
    ``m`` and falls to 0 at centre ``m + 1``.
    """
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise UserError(f"mel filters need 0 <= f_min < f_max <= {sample_rate / 2} Hz")
    edges = mel_to_hz(torch.linspace(float(mel_scale(f_min)), float(mel_scale(f_max)), n_mels + 2))
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)  # (bins,)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (n_mels, 1)
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()  # (n_mels, bins)


class LogMel(nn.Module):
    """Samples (..., n) -> log-mel frames (..., frames, n_mels), frames = 1 + (n - win) // hop."""

    filters: Tensor  # (n_mels, bins)
    window: Tensor  # (win_length,)

    def __init__(self, config: FeatureConfig) -> None:
        super().__init__()
        if config.n_fft < config.win_length:
            raise UserError(f"n_fft ({config.n_fft}) must be >= win_length ({config.win_length})")
        self.config = config
        f_max = config.f_max if config.f_max is not None else config.sample_rate / 2
        bank = mel_filterbank(config.n_mels, config.n_fft, config.sample_rate, config.f_min, f_max)
        self.register_buffer("filters", bank, persistent=False)
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)

    def frames(self, n_samples: int) -> int:
        """How many whole frames ``n_samples`` samples hold."""
        c = self.config
        return 0 if n_samples < c.win_length else 1 + (n_samples - c.win_length) // c.hop_length

    def forward(self, samples: Tensor) -> Tensor:
        c = self.config
        if samples.shape[-1] < c.win_length:  # too short for one frame
            return samples.new_zeros(*samples.shape[:-1], 0, c.n_mels)
        # torch.stft frames n_fft samples and centres the shorter window in them; padding
        # (n_fft - win) / 2 zeros each side makes frame t the window over [t*hop, t*hop + win)
        left = (c.n_fft - c.win_length) // 2
        padded = F.pad(samples, (left, c.n_fft - c.win_length - left))
        spec = torch.stft(
            padded,
            n_fft=c.n_fft,
            hop_length=c.hop_length,
            win_length=c.win_length,
            window=self.window,
            center=False,
            return_complex=True,
        )  # (..., bins, frames)
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(self.filters, power)  # (..., n_mels, frames)
        return torch.log(mel + c.log_floor).transpose(-1, -2)  # (..., frames, n_mels)


def normalise_utterance(features: Tensor, eps: float = 1e-5) -> Tensor:
    """Each band (last dim) of one utterance (frames, bands) to mean 0 and std 1 over time."""
    mean = features.mean(dim=-2, keepdim=True)
    std = features.std(dim=-2, keepdim=True, unbiased=False)
    return (features - mean) / (std + eps)


class FeatureExtractor:
    """Samples -> model input frames (frames, n_mels), as the dataset and transcriber need them.

    With ``normalisation="utterance"`` the frames are normalised per utterance here; with
    ``"global"`` they stay raw log-mel and the model applies its training-set statistics.
    """

    def __init__(self, config: FeatureConfig) -> None:
        if config.normalisation not in NORMALISATIONS:
            raise UserError(
                f"unknown normalisation '{config.normalisation}'; choose one of: "
                + ", ".join(NORMALISATIONS)
            )
        self.config = config
        self.logmel = LogMel(config)

    def __call__(self, samples: Tensor) -> Tensor:
        features = self.logmel(samples)
        if self.config.normalisation == "utterance" and features.shape[-2] > 1:
            features = normalise_utterance(features)
        return features


@dataclass
class SpecAugmentConfig:
    """Masks drawn for every training utterance (Park et al., 2019, without time warping)."""

    freq_masks: int = 2  # masks of adjacent mel bands
    freq_width: int = 6  # each at most this many bands wide
    time_masks: int = 2  # masks of adjacent frames
    time_width: int = 8  # each at most this many frames wide ...
    time_fraction: float = 0.1  # ... and at most this fraction of the utterance


class SpecAugment(nn.Module):
    """Zero out random bands and frame spans of a padded batch, in training mode only.

    Input (batch, frames, bands) and the true frame counts (batch,). Zero is the mean of
    normalised features, so a mask reads as "no information". Identity in eval mode (like
    dropout); the draws use torch's global generator, which the fit loop seeds.
    """

    def __init__(self, config: SpecAugmentConfig | None = None) -> None:
        super().__init__()
        self.config = config or SpecAugmentConfig()

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if not self.training:
            return x
        c = self.config
        batch, frames, bands = x.shape
        keep = torch.ones_like(x, dtype=torch.bool)
        band_ids = torch.arange(bands, device=x.device)
        frame_ids = torch.arange(frames, device=x.device)
        for _ in range(c.freq_masks):
            width = torch.randint(0, c.freq_width + 1, (batch, 1), device=x.device)
            start = (torch.rand(batch, 1, device=x.device) * (bands - width + 1)).long()
            hit = (band_ids >= start) & (band_ids < start + width)  # (batch, bands)
            keep &= ~hit[:, None, :]
        limit = torch.clamp((lengths.to(x.device) * c.time_fraction).long(), max=c.time_width)
        for _ in range(c.time_masks):
            width = (torch.rand(batch, device=x.device) * (limit + 1)).long()[:, None]
            room = (lengths.to(x.device)[:, None] - width + 1).clamp(min=1)
            start = (torch.rand(batch, 1, device=x.device) * room).long()
            hit = (frame_ids >= start) & (frame_ids < start + width)  # (batch, frames)
            keep &= ~hit[:, :, None]
        return x * keep
