"""Stopping training cleanly on SIGINT (Ctrl-C) or SIGTERM (a scheduler's or torchrun's stop).

While :class:`StopSignals` is active, either signal only sets a flag; the fit loop looks at it
after every optimiser step, writes its checkpoint, says how to resume and raises
:class:`TrainingInterrupted`, which the CLI turns into the conventional exit code 128 + signal
(130 for SIGINT, 143 for SIGTERM). A second signal of the same kind acts as it normally would,
so a stuck process can still be stopped.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped on a signal after finishing a step (not an error: it can be resumed)."""

    def __init__(self, signal_number: int) -> None:
        self.signal_number = signal_number
        super().__init__(f"training stopped by {signal_name(signal_number)}")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signal_number


def signal_name(signal_number: int) -> str:
    try:
        return signal.Signals(signal_number).name
    except ValueError:
        return f"signal {signal_number}"


class StopSignals:
    """Context manager: SIGINT/SIGTERM set ``received`` instead of stopping the process.

    The previous handlers come back on exit. Outside the main thread Python cannot install
    handlers, so there it does nothing and signals keep their usual effect.
    """

    def __init__(self) -> None:
        self.received = 0  # the first signal number caught, 0 while none
        self._previous: dict[int, Any] = {}

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        self.received = self.received or signal_number
        signal.signal(signal_number, self._previous[signal_number])  # a second one acts normally

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for number in HANDLED:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()
