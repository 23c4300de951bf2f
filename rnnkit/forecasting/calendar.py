"""Calendar features from a datetime time axis: known-future covariates nobody has to supply.

Each feature is a function of the timestamp alone, so its values over the forecast steps are
known. Cycles are encoded as a sine/cosine pair (midnight and 23:00 are neighbours, so are
December and January); ``holiday`` is 1 on a US federal holiday (the observed day, and the
fixed date itself when it falls on a weekend: births dip on both) and 0 elsewhere.
Which features a frequency gets (:func:`calendar_names`): sub-daily data time of day, day of
week and holiday; daily data day of week, day of year and holiday; weekly data the position in
the year; monthly the month; quarterly the quarter; yearly data and integer time axes none.
``--calendar auto`` (the default) switches them on where they were measured to help
(:data:`AUTO_ON`, docs/forecasting.md "Covariates").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnnkit.data.freq import parse_freq
from rnnkit.errors import unknown
from rnnkit.forecasting.recipe import frequency_key

CALENDAR_MODES = ("auto", "on", "off")
AUTO_ON = ("D",)  # frequency keys whose calendar features auto switches on (measured)
PREFIX = "calendar:"  # calendar feature names among the known-future inputs

_BY_KEY: dict[str, tuple[str, ...]] = {
    "H": ("day", "week", "holiday"),
    "30min": ("day", "week", "holiday"),
    "D": ("week", "year", "holiday"),
    "W": ("year",),
    "M": ("month",),
    "Q": ("quarter",),
    "Y": (),
}
_FIXED_DATES = ((1, 1), (7, 4), (11, 11), (12, 25))  # US federal holidays on a fixed date


def _key(freq: str) -> str | None:
    """The :data:`_BY_KEY` row of a pandas frequency; other steps by their length."""
    key = frequency_key(freq, None)
    if key in _BY_KEY:
        return key
    try:
        step = pd.Timedelta(parse_freq(freq))
    except (ValueError, TypeError):  # calendar offsets (e.g. 2MS) have no fixed length
        return None
    if step < pd.Timedelta(days=1):
        return "H"
    return "D" if step < pd.Timedelta(days=7) else "W" if step < pd.Timedelta(days=28) else None


def calendar_names(mode: str, freq: str | None) -> list[str]:
    """The calendar inputs ``mode`` (auto, on, off) gives data of frequency ``freq`` (None:
    integer time steps, which have no calendar)."""
    if mode not in CALENDAR_MODES:
        raise unknown("--calendar mode", mode, CALENDAR_MODES)
    if mode == "off" or freq is None:
        return []
    key = _key(freq)
    if key is None or (mode == "auto" and key not in AUTO_ON):
        return []
    names = []
    for part in _BY_KEY[key]:
        names += [part] if part == "holiday" else [f"{part}_sin", f"{part}_cos"]
    return [PREFIX + name for name in names]


def _position(times: pd.DatetimeIndex, part: str) -> np.ndarray:
    """Where each time sits in its cycle, as a fraction in [0, 1)."""
    if part == "day":
        seconds = times.hour * 3600 + times.minute * 60 + times.second
        return np.asarray(seconds, np.float64) / 86400.0
    if part == "week":
        return np.asarray(times.day_of_week, np.float64) / 7.0
    if part == "year":
        return (np.asarray(times.day_of_year, np.float64) - 1.0) / 366.0
    if part == "month":
        return (np.asarray(times.month, np.float64) - 1.0) / 12.0
    return (np.asarray(times.quarter, np.float64) - 1.0) / 4.0


def holidays(times: pd.DatetimeIndex) -> np.ndarray:
    """1.0 where the day is a US federal holiday (observed, or its fixed date), else 0.0."""
    from pandas.tseries.holiday import USFederalHolidayCalendar

    days = times.normalize()
    observed = USFederalHolidayCalendar().holidays(days.min(), days.max())
    flag = days.isin(observed)
    for month, day in _FIXED_DATES:
        flag |= (times.month == month) & (times.day == day)
    return np.asarray(flag, np.float32)


def calendar_features(times: pd.Index, names: list[str]) -> np.ndarray:
    """(len(times), len(names)) float32 values of the named calendar features."""
    out = np.zeros((len(times), len(names)), np.float32)
    if not names:
        return out
    stamps = pd.DatetimeIndex(times)
    for j, name in enumerate(names):
        feature = name.removeprefix(PREFIX)
        if feature == "holiday":
            out[:, j] = holidays(stamps)
            continue
        part, wave = feature.rsplit("_", 1)
        angle = 2.0 * np.pi * _position(stamps, part)
        out[:, j] = np.sin(angle) if wave == "sin" else np.cos(angle)
    return out
