"""Streaming recognition: transcribe while the audio arrives, with a left-to-right model.

:class:`StreamingTranscriber` takes the samples chunk by chunk. It frames them as soon as a
whole frame is there (keeping the rest of the samples for the next frame, so the frames are
exactly the whole file's), normalises each frame with the training-set statistics, runs the
unidirectional model on every complete group of ``subsample`` frames while carrying its
recurrent state, and emits a digit as soon as greedy CTC decoding sees a new one.
:func:`measure_streaming` reports the real-time factor and the per-chunk compute latency.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from rnnkit.errors import UserError
from rnnkit.speech.decode import digit_error_rate
from rnnkit.speech.model import BLANK


class StreamingTranscriber:
    """Feed samples with :meth:`accept`; each call returns the digits recognised so far new."""

    def __init__(self, recognizer: Any) -> None:
        if not recognizer.streaming:
            raise UserError("this model is bidirectional and cannot stream; train with --stream")
        if recognizer.config.features.normalisation != "global":
            raise UserError("streaming needs frame-by-frame ('global') feature normalisation")
        self.model = recognizer.model.eval()
        self.logmel = recognizer.extractor.logmel
        self.hop = recognizer.config.features.hop_length
        self.win = recognizer.config.features.win_length
        self.subsample = recognizer.config.model.subsample
        self.reset()

    def reset(self) -> None:
        """Start a new utterance."""
        self.samples = torch.zeros(0)  # samples not yet fully used by frames
        self.frames = torch.zeros(0, self.logmel.config.n_mels)  # frames not yet fed
        self.state: Any = None  # the recurrent state after the last step
        self.previous = BLANK  # the last step's best class (for merging repeats)
        self.digits: list[int] = []
        self.log_probs: list[Tensor] = []  # per-step outputs so far (for tests and figures)

    @torch.inference_mode()
    def accept(self, chunk: Tensor) -> list[int]:
        """Take the next samples; return the digits that became certain in them."""
        self.samples = torch.cat([self.samples, chunk.float()])
        n = self.logmel.frames(self.samples.shape[0])
        if n:
            used = (n - 1) * self.hop + self.win
            self.frames = torch.cat([self.frames, self.logmel(self.samples[:used])])
            self.samples = self.samples[n * self.hop :]
        ready = self.frames.shape[0] // self.subsample * self.subsample
        if not ready:
            return []
        frames = self.frames[None, :ready].to(self.model.mean.device)
        log_probs, self.state = self.model.stream(frames, self.state)
        log_probs = log_probs.cpu()
        self.frames = self.frames[ready:]
        self.log_probs.append(log_probs[0])
        new = []
        for label in log_probs[0].argmax(dim=-1).tolist():
            if label != BLANK and label != self.previous:
                new.append(label - 1)
            self.previous = label
        self.digits += new
        return new

    def finish(self) -> list[int]:
        """The whole transcript (leftover samples shorter than a step are dropped, as offline)."""
        return list(self.digits)

    def posteriors(self) -> Tensor:
        """All per-step log-probs so far (steps, classes)."""
        if not self.log_probs:
            return torch.zeros(0, self.model.head.out_features)
        return torch.cat(self.log_probs)


def transcribe_stream(recognizer: Any, samples: Tensor, chunk: int) -> list[int]:
    """Feed ``samples`` ``chunk`` samples at a time; the final transcript."""
    transcriber = StreamingTranscriber(recognizer)
    for start in range(0, samples.shape[0], chunk):
        transcriber.accept(samples[start : start + chunk])
    return transcriber.finish()


def measure_streaming(
    recognizer: Any,
    utterances: Sequence[Tensor],
    references: Sequence[Sequence[int]],
    *,
    chunk_seconds: float = 0.1,
) -> dict[str, float]:
    """Stream every utterance in chunks of ``chunk_seconds``; speed and error rate.

    ``rtf``: compute seconds / audio seconds (below 1: faster than real time).
    ``chunk_ms_mean`` / ``chunk_ms_max``: compute time per chunk (the delay processing adds after
    a chunk arrives); ``algorithmic_latency_ms``: the chunk, one frame window and one step of
    stacked frames, the audio the model must wait for before it can speak about a sound.
    Run it with ``torch.set_num_threads(1)`` for the one-thread figure.
    """
    config = recognizer.config.features
    chunk = max(1, int(round(chunk_seconds * config.sample_rate)))
    transcriber = StreamingTranscriber(recognizer)
    hypotheses, times = [], []
    audio_seconds = 0.0
    for samples in utterances:
        transcriber.reset()
        audio_seconds += samples.shape[0] / config.sample_rate
        for start in range(0, samples.shape[0], chunk):
            piece = samples[start : start + chunk]
            began = time.perf_counter()
            transcriber.accept(piece)
            times.append(time.perf_counter() - began)
        hypotheses.append(transcriber.finish())
    compute = sum(times)
    step_ms = 1000 * recognizer.config.model.subsample * config.hop_length / config.sample_rate
    return {
        "rtf": compute / max(audio_seconds, 1e-9),
        "error_rate": digit_error_rate(references, hypotheses),
        "chunk_ms": 1000 * chunk / config.sample_rate,
        "chunk_ms_mean": 1000 * compute / max(len(times), 1),
        "chunk_ms_max": 1000 * max(times, default=0.0),
        "algorithmic_latency_ms": 1000 * chunk_seconds
        + 1000 * config.win_length / config.sample_rate
        + step_ms,
        "audio_seconds": audio_seconds,
        "threads": torch.get_num_threads(),
    }
