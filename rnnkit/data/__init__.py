"""Data: generators for the built-in tasks, windows over series, and bundled datasets."""

from rnnkit.data.sine import sine_wave, sine_windows
from rnnkit.data.tasks import TASKS, TaskSizes, adding_problem, delayed_recall, make_task
from rnnkit.data.windows import Examples, Split, chronological_split, sliding_windows

__all__ = [
    "TASKS",
    "Examples",
    "Split",
    "TaskSizes",
    "adding_problem",
    "chronological_split",
    "delayed_recall",
    "make_task",
    "sine_wave",
    "sine_windows",
    "sliding_windows",
]
