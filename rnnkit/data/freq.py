"""Pandas frequency aliases: parsing (old spellings too), describing, inferring, seasons."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pandas as pd
from pandas.tseries.frequencies import to_offset

from rnnkit.errors import UserError

__all__ = ["describe_step", "infer_offset", "parse_freq", "season_length"]

# Spellings pandas >= 2.2 no longer accepts -> today's alias (multiples and anchors are kept).
_LEGACY = {"H": "h", "T": "min", "S": "s", "L": "ms", "U": "us", "N": "ns", "M": "ME", "Q": "QE"}
_LEGACY |= {"A": "YE", "Y": "YE", "AS": "YS", "BM": "BME", "BQ": "BQE", "BA": "BYE", "BY": "BYE"}
_LEGACY |= {"BAS": "BYS", "SM": "SME"}
_WORDS = {"D": "day", "B": "business day", "C": "business day", "W": "week", "h": "hour"}
_WORDS |= {"min": "minute", "s": "second", "ms": "millisecond", "us": "microsecond"}
_WORDS |= {"MS": "month", "ME": "month", "BMS": "month", "BME": "month", "SMS": "half month"}
_WORDS |= {"SME": "half month", "QS": "quarter", "QE": "quarter", "BQS": "quarter"}
_WORDS |= {"BQE": "quarter", "YS": "year", "YE": "year", "BYS": "year", "BYE": "year"}
# Steps in the natural cycle of each base alias: a year (months, quarters, weeks), a week (days).
_PER_CYCLE = {"MS": 12, "ME": 12, "BMS": 12, "BME": 12, "SMS": 24, "SME": 24, "QS": 4, "QE": 4}
_PER_CYCLE |= {"BQS": 4, "BQE": 4, "W": 52, "D": 7, "B": 5, "C": 5}
_FREQ_EXAMPLES = "D, B, W-SUN, MS, ME, QS, YS, h, 30min"


def parse_freq(freq: str) -> Any:
    """A pandas offset from an alias ("MS", "W-SUN", "2h", old spellings such as "H" too)."""
    text = freq.strip()
    match = re.fullmatch(r"(\d*)([A-Za-z]+)(-\w+)?", text)
    tries = [text]
    if match and match[2] in _LEGACY:
        tries.append(match[1] + _LEGACY[match[2]] + (match[3] or ""))
    for alias in tries:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandas 2.2 warns about "H", "T", ...
                return to_offset(alias)
        except ValueError:
            continue
    raise UserError(f"unknown frequency '{freq}'; use a pandas alias such as {_FREQ_EXAMPLES}")


def season_length(freq: str | None) -> int | None:
    """The natural season, in steps, of a frequency; None when there is none (yearly, None).

    Monthly 12, quarterly 4, weekly 52, daily 7, business-daily 5, half-monthly 24, divided by
    the alias's multiple when it divides evenly ("2h" -> 12, "3MS" -> 4). Below a day the season
    is the longest of a day, an hour and a minute that holds a whole number of steps, at most 168:
    hourly 24, half-hourly 48, 15-minutely 96, 5-minutely 12 (an hour), minutely 60, secondly 60.
    """
    if freq is None:
        return None
    offset = parse_freq(freq)
    base = offset.base.freqstr.split("-")[0]
    if base in _PER_CYCLE:
        count, rest = divmod(_PER_CYCLE[base], offset.n)
        return count if rest == 0 and count > 1 else None
    if not isinstance(offset, pd.offsets.Tick):
        return None  # yearly, business hours, ...
    step = pd.Timedelta(offset)
    for cycle in (pd.Timedelta(days=1), pd.Timedelta(hours=1), pd.Timedelta(minutes=1)):
        count = cycle / step
        if count.is_integer() and 1 < count <= 168:
            return int(count)
    return None


def describe_step(step: Any) -> str:
    """'1 day (D)', '3 months (3MS)', '2 hours (2h)', or '30 days' for a plain Timedelta."""
    if isinstance(step, pd.Timedelta):
        if step % pd.Timedelta(days=1) == pd.Timedelta(0):
            return f"{step.days} day{'s' if step.days != 1 else ''}"
        return str(step)
    word = _WORDS.get(step.base.freqstr.split("-")[0])
    if word is None:
        return f"'{step.freqstr}'"
    return f"{step.n} {word}{'s' if step.n != 1 else ''} ({step.freqstr})"


def infer_offset(stamps: pd.DatetimeIndex) -> Any:
    """``pd.infer_freq`` as an offset, or None (irregular, or fewer than 3 times)."""
    if len(stamps) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 announces that infer_freq will return offsets
        alias = pd.infer_freq(stamps)
    return None if alias is None else to_offset(alias)
