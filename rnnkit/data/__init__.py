"""Data: generators for the built-in tasks, windows over series, and bundled datasets."""

from rnnkit.data.sine import sine_wave
from rnnkit.data.windows import Examples, Split, chronological_split, sliding_windows

__all__ = ["Examples", "Split", "chronological_split", "sine_wave", "sliding_windows"]
