"""rnnkit's own recurrent modules.

``RNN``, ``LSTM`` and ``GRU`` are interchangeable with their torch.nn namesakes (same
arguments, parameter names and outputs); the others are variants torch.nn does not have.
"""

from rnnkit.nn.gru import GRU
from rnnkit.nn.lstm import LSTM
from rnnkit.nn.rnn import RNN

__all__ = ["GRU", "LSTM", "RNN"]
