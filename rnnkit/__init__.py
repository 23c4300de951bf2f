"""rnnkit: recurrent neural networks in PyTorch, from the tutorial's sine wave to real work."""

from rnnkit._version import __version__
from rnnkit.classify import SequenceClassifier
from rnnkit.errors import UserError
from rnnkit.forecasting import Forecaster
from rnnkit.models import CELLS, ModelConfig, SequenceModel, make_recurrent
from rnnkit.text import CharLM
from rnnkit.training import History, TrainConfig, fit

__all__ = [
    "CELLS",
    "CharLM",
    "Forecaster",
    "SequenceClassifier",
    "History",
    "ModelConfig",
    "SequenceModel",
    "TrainConfig",
    "UserError",
    "__version__",
    "fit",
    "make_recurrent",
]
