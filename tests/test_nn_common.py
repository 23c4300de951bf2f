"""Behaviour shared by all seven rnnkit.nn modules: shapes, packing, dropout, errors, grads."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit.nn as rn

ALL = ["RNN", "LSTM", "GRU", "LayerNormLSTM", "LayerNormGRU", "MinGRU", "MinLSTM"]
WITH_CELL = {"LSTM", "LayerNormLSTM"}


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


def _states(hidden, name):
    return list(hidden) if name in WITH_CELL else [hidden]


def test_exports():
    assert sorted(rn.__all__) == sorted(ALL)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("batch_first", [False, True])
def test_shapes_and_return_convention(name, batch_first):
    torch.manual_seed(0)
    module = getattr(rn, name)(4, 5, 2, batch_first=batch_first, bidirectional=True)
    x = torch.randn(3, 6, 4) if batch_first else torch.randn(6, 3, 4)
    out, hidden = module(x)
    assert out.shape == ((3, 6, 10) if batch_first else (6, 3, 10))
    assert isinstance(hidden, tuple) == (name in WITH_CELL)
    for state in _states(hidden, name):
        assert state.shape == (4, 3, 5)  # (num_layers * num_directions, batch, hidden)
    out1, hidden1 = module(x[0] if batch_first else x[:, 0])  # unbatched 2-D input
    torch.testing.assert_close(out1, out[0] if batch_first else out[:, 0], atol=1e-5, rtol=1e-5)
    for s1, s in zip(_states(hidden1, name), _states(hidden, name), strict=True):
        torch.testing.assert_close(s1, s[:, 0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ALL)
def test_packed_equals_each_sequence_alone(name):
    """Padding never influences valid outputs or h_n (checked against unpadded runs)."""
    torch.manual_seed(1)
    module = getattr(rn, name)(3, 4, 2, bidirectional=True).double()
    lengths = [4, 7, 2]
    x = torch.randn(7, 3, 3, dtype=torch.float64)
    for b, n in enumerate(lengths):
        x[n:, b] = 1e3  # garbage in the padding
    h0 = [torch.randn(4, 3, 4, dtype=torch.float64) for _ in _states((0, 0), name)]
    hx = tuple(h0) if name in WITH_CELL else h0[0]
    packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
    out, hidden = module(packed, hx)
    padded, _ = torch.nn.utils.rnn.pad_packed_sequence(out)
    for b, n in enumerate(lengths):
        hx_b = tuple(h[:, b : b + 1] for h in h0) if name in WITH_CELL else h0[0][:, b : b + 1]
        out_b, hidden_b = module(x[:n, b : b + 1], hx_b)
        torch.testing.assert_close(padded[:n, b : b + 1], out_b, atol=1e-10, rtol=1e-10)
        for s_b, s in zip(_states(hidden_b, name), _states(hidden, name), strict=True):
            torch.testing.assert_close(s[:, b : b + 1], s_b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("name", ALL)
def test_dropout_only_between_layers_and_in_training(name):
    torch.manual_seed(2)
    module = getattr(rn, name)(3, 4, 2, dropout=0.5)
    x = torch.randn(5, 2, 3)
    train_a, train_b = module(x)[0], module(x)[0]
    assert not torch.equal(train_a, train_b)
    module.eval()
    torch.testing.assert_close(module(x)[0], module(x)[0], rtol=0, atol=0)
    module.train()
    first = _states(module(x)[1], name)[0][0]  # layer 0's h_n is computed before any dropout
    torch.testing.assert_close(first, _states(module.eval()(x)[1], name)[0][0])


@pytest.mark.parametrize("name", ALL)
def test_bad_shapes_raise_like_torch(name):
    module = getattr(rn, name)(4, 5)
    with pytest.raises(RuntimeError):
        module(torch.randn(5, 3, 7))  # input feature size
    with pytest.raises(ValueError):
        module(torch.randn(5, 3, 4, 1))  # 4-D input
    bad = torch.randn(1, 2, 5)
    with pytest.raises(RuntimeError):
        module(torch.randn(5, 3, 4), (bad, bad) if name in WITH_CELL else bad)  # hx batch
    with pytest.raises(TypeError):
        getattr(rn, name)(4, 5, 1, batch_first=1)


@pytest.mark.parametrize("name", ALL)
def test_gradcheck_module(name):
    torch.manual_seed(3)
    module = getattr(rn, name)(2, 3, 2, bidirectional=True).double()
    x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)

    def run(x, h0):
        hx = (h0, torch.ones_like(h0)) if name in WITH_CELL else h0
        out, hidden = module(x, hx)
        return out, *_states(hidden, name)

    assert torch.autograd.gradcheck(run, (x, h0))


@pytest.mark.parametrize(
    "name,args",
    [
        ("RNN", (3, 4, 2, "relu", False, True, 0.0, True)),
        ("LSTM", (3, 4, 2, True, True, 0.0, True, 2)),
        ("GRU", (3, 4, 1, False, True)),
    ],
)
def test_positional_arguments_mean_what_they_mean_in_torch_nn(name: str, args: tuple) -> None:
    ours, theirs = getattr(rn, name)(*args), getattr(torch.nn, name)(*args)
    assert ours.batch_first == theirs.batch_first and ours.bidirectional == theirs.bidirectional
    shapes = {k: v.shape for k, v in ours.state_dict().items()}
    assert shapes == {k: v.shape for k, v in theirs.state_dict().items()}


@pytest.mark.parametrize("name", ["RNN", "GRU"])
def test_proj_size_refused_outside_lstm_like_torch_nn(name: str) -> None:
    with pytest.raises(ValueError, match="proj_size"):
        torch.nn.__dict__[name](2, 3, proj_size=2)
    with pytest.raises(ValueError, match="proj_size"):
        getattr(rn, name)(2, 3, proj_size=2)
