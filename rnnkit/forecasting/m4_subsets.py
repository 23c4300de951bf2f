"""The six M4 subsets (horizon, seasonal period, series count) and published results."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from rnnkit.errors import unknown


@dataclass(frozen=True)
class Subset:
    """One M4 subset: forecast horizon, seasonal period of the metrics and Naive2, series count."""

    name: str
    horizon: int
    season: int
    series: int


SUBSETS: dict[str, Subset] = {
    s.name.lower(): s
    for s in (
        Subset("Yearly", 6, 1, 23000),
        Subset("Quarterly", 8, 4, 24000),
        Subset("Monthly", 18, 12, 48000),
        Subset("Weekly", 13, 1, 359),
        Subset("Daily", 14, 1, 4227),
        Subset("Hourly", 48, 24, 414),
    )
}


@dataclass(frozen=True)
class Published:
    """A published result on an M4 test set (None where the figure is not recorded here)."""

    method: str
    smape: float | None = None
    mase: float | None = None
    owa: float | None = None
    msis: float | None = None
    acd: float | None = None


# From the organisers' results (Evaluation and Ranks.xlsx; M4 paper, IJF 2020). The "best
# submission" MSIS/ACD are those of the best interval submission, not necessarily the same one.
PUBLISHED: dict[str, tuple[Published, ...]] = {
    "Hourly": (
        Published("best submission", 8.913, 0.801, 0.410, 6.139, 0.002),
        Published("ES-RNN (Smyl, M4 winner)", 9.328, 0.893, 0.440, 7.928, 0.040),
        Published("seasonal naive", 13.912, 1.193, 0.627),
        Published("Theta", 18.138, 2.455, 1.006),
        Published("Naive2", 18.383, 2.395, 1.000),
        Published("RNN benchmark (organisers)", 14.698, 3.048, 1.036),
        Published("ARIMA", msis=7.538),
        Published("ETS", msis=17.487),
        Published("Naive", msis=71.245),
    ),
    "Weekly": (
        Published("best submission", 6.582, 2.107, 0.739, 16.200),
        Published("ES-RNN (Smyl, M4 winner)", 7.817, 2.356, 0.851, 22.034),
        Published("seasonal naive", 9.161, 2.777, 1.000),
        Published("Theta", 9.093, 2.637, 0.971),
        Published("Naive2", 9.161, 2.777, 1.000),
        Published("RNN benchmark (organisers)", 15.220, 5.132, 1.755),
        Published("ARIMA", msis=19.575),
        Published("ETS", msis=20.386),
    ),
}


def subset_info(subset: str) -> Subset:
    """The :class:`Subset` named ``subset`` (any case: "hourly", "Hourly")."""
    key = str(subset).lower()
    if key not in SUBSETS:
        raise unknown("M4 subset", str(subset), SUBSETS)
    return SUBSETS[key]


def published_table(subset: str) -> pd.DataFrame:
    """The :data:`PUBLISHED` rows of a subset (method, smape, mase, owa, msis, acd)."""
    rows = PUBLISHED.get(subset_info(subset).name, ())
    return pd.DataFrame([asdict(r) for r in rows], columns=list(Published.__dataclass_fields__))
