"""Streaming: chunk-by-chunk transcription equals the whole-file pass of the same model."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from rnnkit.errors import UserError
from rnnkit.speech.decode import greedy_decode
from rnnkit.speech.features import FeatureConfig
from rnnkit.speech.model import AcousticConfig
from rnnkit.speech.recognizer import DigitRecognizer, RecognizerConfig, streaming_config
from rnnkit.speech.stream import StreamingTranscriber, measure_streaming, transcribe_stream

pytest.importorskip("jiwer")  # the speech extra (part of dev)


def tiny_streaming(cell: str = "gru", subsample: int = 2) -> DigitRecognizer:
    """An untrained left-to-right recogniser with made-up training statistics."""
    model = AcousticConfig(cell=cell, hidden_size=12, num_layers=2, subsample=subsample)
    config = streaming_config(RecognizerConfig(FeatureConfig(n_mels=16), model, None))
    recognizer = DigitRecognizer(config)
    recognizer.model.set_statistics(torch.linspace(-8, -4, 16), torch.linspace(1, 2, 16))
    # sharpen the head so that greedy decoding emits some digits from random weights
    with torch.no_grad():
        recognizer.model.head.weight.mul_(20)
    recognizer.model.eval()
    return recognizer


def audio(seconds: float = 0.73, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * 8000)) / 8000
    return 0.3 * torch.sin(2 * torch.pi * 900 * t * (1 + t)) + 0.05 * torch.randn(
        t.shape, generator=generator
    )


@pytest.mark.parametrize(("cell", "subsample"), [("gru", 2), ("lstm", 3), ("rnn", 1)])
@pytest.mark.parametrize("chunk", [37, 800, 100_000])
def test_streaming_equals_offline(cell: str, subsample: int, chunk: int) -> None:
    recognizer = tiny_streaming(cell, subsample)
    samples = audio()
    (offline,) = recognizer.posteriors([recognizer.features(samples)])
    transcriber = StreamingTranscriber(recognizer)
    emitted = []
    for start in range(0, len(samples), chunk):
        emitted += transcriber.accept(samples[start : start + chunk])
    streamed = transcriber.posteriors()
    assert streamed.shape == offline.shape
    assert torch.allclose(streamed, offline, atol=1e-5)
    assert emitted == transcriber.finish() == greedy_decode(offline)
    assert emitted  # the comparison covers emitted digits, not only silence
    assert transcribe_stream(recognizer, samples, chunk) == greedy_decode(offline)


def test_streaming_starts_afresh_after_reset() -> None:
    recognizer = tiny_streaming()
    transcriber = StreamingTranscriber(recognizer)
    transcriber.accept(audio(seed=1))
    transcriber.reset()
    transcriber.accept(audio(seed=2))
    (offline,) = recognizer.posteriors([recognizer.features(audio(seed=2))])
    assert torch.allclose(transcriber.posteriors(), offline, atol=1e-5)


def test_a_bidirectional_model_cannot_stream() -> None:
    recognizer = DigitRecognizer(RecognizerConfig(model=AcousticConfig(hidden_size=4)))
    with pytest.raises(UserError):
        StreamingTranscriber(recognizer)
    utterance_normalised = replace(
        recognizer.config, model=replace(recognizer.config.model, bidirectional=False)
    )
    with pytest.raises(UserError):  # per-utterance normalisation needs the whole utterance
        StreamingTranscriber(DigitRecognizer(utterance_normalised))


def test_measure_streaming_reports_speed_and_errors() -> None:
    recognizer = tiny_streaming()
    utterances = [audio(0.5, seed) for seed in range(3)]
    result = measure_streaming(recognizer, utterances, [[1, 2]] * 3, chunk_seconds=0.1)
    assert result["rtf"] > 0 and result["audio_seconds"] == pytest.approx(1.5)
    assert result["chunk_ms"] == pytest.approx(100)
    assert result["error_rate"] >= 0
    assert result["algorithmic_latency_ms"] == pytest.approx(100 + 25 + 20)
