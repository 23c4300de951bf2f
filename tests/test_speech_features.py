"""Speech features: WAV reading and its errors, the mel filterbank, log-mel, normalisation,
SpecAugment."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.errors import UserError
from rnnkit.speech.features import (
    FeatureConfig,
    FeatureExtractor,
    LogMel,
    SpecAugment,
    mel_filterbank,
    normalise_utterance,
    read_wav,
)
from tests.speech_synth import RATE, tone, write_wav

pytest.importorskip("jiwer")  # the speech extra (part of dev)


def htk_mel(hz: float) -> float:
    return 2595.0 * math.log10(1.0 + hz / 700.0)


# --- WAV reading ---------------------------------------------------------------------------


def test_read_wav_returns_the_samples(tmp_path: Path) -> None:
    samples = tone(440, 0.1)
    got = read_wav(write_wav(tmp_path / "a.wav", samples), RATE)
    assert got.dtype == torch.float32 and got.shape == (len(samples),)
    assert np.abs(got.numpy() - samples).max() <= 1 / 32767  # 16-bit rounding only


def test_read_wav_8_bit_is_unsigned(tmp_path: Path) -> None:
    path = tmp_path / "u8.wav"
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(RATE)
        writer.writeframes(bytes([128, 255, 0]))  # silence, near +1, -1
    assert read_wav(path).tolist() == pytest.approx([0.0, 127 / 128, -1.0])


def one_line(err: pytest.ExceptionInfo[UserError]) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_not_a_wav_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n")
    with pytest.raises(UserError) as err:
        read_wav(path, RATE)
    assert "notes.wav" in one_line(err)


def test_wrong_sample_rate_is_a_user_error(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "cd.wav", tone(440, 0.1, rate=16000), rate=16000)
    with pytest.raises(UserError) as err:
        read_wav(path, RATE)
    assert "16000 Hz" in one_line(err) and "8000 Hz" in one_line(err)


def test_empty_wav_is_a_user_error(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "empty.wav", np.zeros(0))
    with pytest.raises(UserError) as err:
        read_wav(path, RATE)
    assert "no audio" in one_line(err)


def test_stereo_is_a_user_error(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "stereo.wav", np.zeros((400, 2)), channels=2)
    with pytest.raises(UserError) as err:
        read_wav(path, RATE)
    assert "2 channels" in one_line(err)


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        read_wav(tmp_path / "nowhere.wav")


# --- mel filterbank and log-mel ------------------------------------------------------------


def test_filterbank_shape_and_triangles() -> None:
    bank = mel_filterbank(40, 256, RATE, 20.0, 4000.0)
    assert bank.shape == (40, 129)
    assert bank.min() >= 0 and bank.max() <= 1 + 1e-6
    assert (bank.sum(dim=1) > 0).all()  # no empty filter at this resolution
    peaks = bank.argmax(dim=1)
    assert (peaks[1:] >= peaks[:-1]).all()  # centres rise with the band number
    # a triangle is nonzero on one contiguous run of bins
    for row in bank:
        nonzero = torch.nonzero(row).ravel()
        assert (nonzero[-1] - nonzero[0] + 1) == len(nonzero)


def test_filterbank_respects_its_edges() -> None:
    bank = mel_filterbank(10, 256, RATE, 300.0, 2000.0)
    hz = torch.linspace(0, RATE / 2, 129)
    outside = (hz <= 300.0) | (hz >= 2000.0)
    assert bank[:, outside].abs().max() == 0


def test_filterbank_rejects_bad_edges() -> None:
    with pytest.raises(UserError):
        mel_filterbank(10, 256, RATE, 100.0, 5000.0)  # above Nyquist


@pytest.mark.parametrize("freq", [300.0, 1000.0, 2500.0])
def test_a_pure_tone_peaks_at_its_mel_band(freq: float) -> None:
    config = FeatureConfig(n_mels=20)
    features = LogMel(config)(torch.from_numpy(tone(freq, 0.5)).float())  # (frames, 20)
    # the band whose centre (equally spaced in HTK mel between f_min and Nyquist) is nearest
    low, high = htk_mel(config.f_min), htk_mel(RATE / 2)
    centres = [low + (high - low) * (m + 1) / (config.n_mels + 1) for m in range(config.n_mels)]
    expected = int(np.argmin([abs(c - htk_mel(freq)) for c in centres]))
    assert int(features.mean(dim=0).argmax()) == expected


def test_frame_count_is_uncentred() -> None:
    logmel = LogMel(FeatureConfig())  # window 200, hop 80
    for n in (199, 200, 279, 280, 1000):
        expected = 0 if n < 200 else 1 + (n - 200) // 80
        assert logmel(torch.zeros(n)).shape == (expected, 40)
        assert logmel.frames(n) == expected


def test_utterance_normalisation() -> None:
    features = torch.randn(50, 8) * torch.arange(1, 9) + 3.0
    normalised = normalise_utterance(features)
    assert torch.allclose(normalised.mean(dim=0), torch.zeros(8), atol=1e-5)
    assert torch.allclose(normalised.std(dim=0, unbiased=False), torch.ones(8), atol=1e-3)


def test_global_normalisation_leaves_frames_raw() -> None:
    samples = torch.from_numpy(tone(700, 0.3)).float()
    raw = FeatureExtractor(FeatureConfig(normalisation="global"))(samples)
    assert torch.equal(raw, LogMel(FeatureConfig())(samples))
    with pytest.raises(UserError):
        FeatureExtractor(FeatureConfig(normalisation="sometimes"))


def test_spec_augment_masks_only_in_training() -> None:
    augment = SpecAugment()
    x = torch.randn(4, 60, 40) + 5.0  # no exact zeros
    lengths = torch.tensor([60, 50, 40, 30])
    augment.eval()
    assert torch.equal(augment(x, lengths), x)
    augment.train()
    masked = augment(x, lengths)
    changed = masked != x
    assert changed.any()
    assert (masked[changed] == 0).all()  # masking zeroes; it changes nothing else
    # a frequency mask is at most 6 bands wide and 2 are drawn: most bands survive per row
    whole_bands = (masked == 0).all(dim=1).sum(dim=1)
    assert (whole_bands <= 12).all()
