"""Synthetic "spoken digits" for the speech tests: each digit a tone of its own pitch.

Digit ``d`` by speaker ``s`` is a sine at ``(400 + 300 d) * (1 + 0.02 s)`` Hz lasting 0.18-0.3 s,
with a fade in and out, some quiet before and after, a random level and a little noise, written
as 8 kHz mono 16-bit WAV files named like FSDD's ``{digit}_{speaker}_{index}.wav``.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 8000


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE, channels: int = 1) -> Path:
    """Floats in [-1, 1] (frames,) or (frames, channels) as 16-bit PCM."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return path


def tone(freq: float, seconds: float, rate: int = RATE, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return level * np.sin(2 * np.pi * freq * t)


def digit_sound(digit: int, speaker: int, rng: np.random.Generator) -> np.ndarray:
    freq = (400 + 300 * digit) * (1 + 0.02 * speaker)
    seconds = rng.uniform(0.18, 0.3)
    sound = tone(freq, seconds, level=rng.uniform(0.2, 0.6))
    fade = np.minimum(1.0, np.minimum(np.arange(len(sound)), np.arange(len(sound))[::-1]) / 160)
    pad = np.zeros(int(rng.uniform(0.04, 0.08) * RATE))  # recordings start and end quietly
    sound = np.concatenate([pad, sound * fade, pad])
    return sound + 0.003 * rng.standard_normal(len(sound))


def make_recordings(folder: Path, speakers: int = 2, repetitions: int = 14, seed: int = 0) -> Path:
    """``speakers`` x 10 digits x ``repetitions`` WAV files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for s in range(speakers):
        for d in range(10):
            for i in range(repetitions):
                write_wav(folder / f"{d}_spk{s}_{i}.wav", digit_sound(d, s, rng))
    return folder
