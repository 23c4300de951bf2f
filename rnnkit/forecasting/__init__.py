"""Forecasting series: the Forecaster, its network, windows, evaluation, backtests and export."""

from rnnkit.forecasting.forecaster import Forecaster

__all__ = ["Forecaster"]
