"""The registry and the sequence model: every cell, every option, the right shapes."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import UserError
from rnnkit.models import CELLS, ModelConfig, SequenceModel, last_hidden, make_recurrent

TORCH_CELLS = ["rnn", "lstm", "gru"]


@pytest.mark.parametrize("cell", TORCH_CELLS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_sequence_model_shapes(cell: str, layers: int, bidirectional: bool) -> None:
    config = ModelConfig(
        cell=cell,
        input_size=3,
        hidden_size=8,
        num_layers=layers,
        dropout=0.2 if layers > 1 else 0.0,
        bidirectional=bidirectional,
        output_size=5,
    )
    model = SequenceModel(config)
    assert model(torch.randn(4, 7, 3)).shape == (4, 5)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_every_registered_cell_builds_and_runs(cell: str) -> None:
    model = SequenceModel(ModelConfig(cell=cell, input_size=2, hidden_size=6, output_size=1))
    assert model(torch.randn(3, 5, 2)).shape == (3, 1)


def test_unknown_cell_lists_valid_names() -> None:
    with pytest.raises(UserError) as err:
        make_recurrent("lstn", 1, 4)
    message = str(err.value)
    assert "did you mean 'lstm'" in message
    for name in CELLS:
        assert name in message


def test_variant_with_torch_backend_is_an_error() -> None:
    with pytest.raises(UserError, match="rnnkit backend"):
        make_recurrent("mingru", 1, 4, backend="torch")


@pytest.mark.parametrize("size", [0, -3])
def test_non_positive_sizes_rejected(size: int) -> None:
    with pytest.raises(UserError, match="positive"):
        make_recurrent("gru", 1, size)


def test_last_hidden_reads_both_directions_of_top_layer() -> None:
    rnn = torch.nn.GRU(2, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(3, 6, 2)
    output, h_n = rnn(x)
    top = last_hidden(h_n, 2)  # (batch, 2 * hidden)
    assert torch.allclose(top[:, :4], output[:, -1, :4])  # forward direction: last step
    assert torch.allclose(top[:, 4:], output[:, 0, 4:])  # backward direction: first step


def test_last_hidden_takes_h_of_lstm_state() -> None:
    rnn = torch.nn.LSTM(2, 4, batch_first=True)
    output, state = rnn(torch.randn(3, 6, 2))
    assert torch.allclose(last_hidden(state, 1), output[:, -1])


@pytest.mark.parametrize("cell", TORCH_CELLS)
@pytest.mark.parametrize("source,target", [("rnnkit", "torch"), ("torch", "rnnkit")])
def test_weights_trained_with_one_backend_predict_the_same_in_the_other(
    cell: str, source: str, target: str
) -> None:
    from rnnkit.compare.demo import DemoConfig, sine_examples
    from rnnkit.training import TrainConfig, fit

    train, val, test = sine_examples(DemoConfig(num_samples=200))
    config = ModelConfig(cell=cell, backend=source, hidden_size=8, num_layers=2)
    trained = SequenceModel(config)
    fit(trained, train, val, TrainConfig(epochs=2, progress=False, log_every=0))
    other = SequenceModel(ModelConfig(**{**config.__dict__, "backend": target}))
    other.load_state_dict(trained.state_dict())
    x, _ = test.tensors()
    with torch.no_grad():
        assert torch.allclose(trained.eval()(x), other.eval()(x), atol=1e-6)
