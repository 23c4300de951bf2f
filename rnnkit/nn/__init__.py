"""rnnkit's own recurrent modules.

``RNN``, ``LSTM`` and ``GRU`` are interchangeable with their torch.nn namesakes (same
arguments, parameter names, initialisation and outputs).  ``LayerNormLSTM``/``LayerNormGRU``
(Ba et al. 2016) and ``MinGRU``/``MinLSTM`` (Feng et al. 2024) are variants torch.nn lacks,
with the same constructor style and return conventions.
"""

from rnnkit.nn.gru import GRU
from rnnkit.nn.layernorm_gru import LayerNormGRU
from rnnkit.nn.layernorm_lstm import LayerNormLSTM
from rnnkit.nn.lstm import LSTM
from rnnkit.nn.min_gru import MinGRU
from rnnkit.nn.min_lstm import MinLSTM
from rnnkit.nn.rnn import RNN

__all__ = ["GRU", "LSTM", "RNN", "LayerNormGRU", "LayerNormLSTM", "MinGRU", "MinLSTM"]
