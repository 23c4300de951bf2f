"""rnnkit.nn.RNN against torch.nn.RNN, plus dropout-between-layers checks for all 3 cells."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import rnnkit.nn as rn
from rnnkit.nn._rnn_kernel import RNNRecurrence
from tests.nn_helpers import assert_same_as_torch

# (batch_first, bias) only as two pairs: each flag is exercised both ways at half the cost.
GRID = [
    (layers, bidir, batch_first, bias, act)
    for layers, bidir, (batch_first, bias), act in itertools.product(
        (1, 2), (False, True), ((False, True), (True, False)), ("tanh", "relu")
    )
]


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize(("layers", "bidir", "batch_first", "bias", "act"), GRID)
def test_matches_torch(dtype, packed, layers, bidir, batch_first, bias, act):
    torch.manual_seed(1)
    opts = dict(bias=bias, batch_first=batch_first, bidirectional=bidir, nonlinearity=act)
    ref = nn.RNN(4, 5, layers, **opts).to(dtype)
    mine = rn.RNN(4, 5, layers, **opts).to(dtype)
    lengths = [5, 2, 4] if packed else None
    assert_same_as_torch(ref, mine, steps=5, lengths=lengths, with_hx=layers == 2)


def test_same_init_names_and_state_dict_both_ways():
    torch.manual_seed(3)
    ref = nn.RNN(4, 6, 2, bidirectional=True, nonlinearity="relu")
    torch.manual_seed(3)
    mine = rn.RNN(4, 6, 2, bidirectional=True, nonlinearity="relu")
    assert list(dict(ref.named_parameters())) == list(dict(mine.named_parameters()))
    for (_, p), (_, q) in zip(ref.named_parameters(), mine.named_parameters(), strict=True):
        torch.testing.assert_close(q, p, rtol=0, atol=0)
    ref.load_state_dict(mine.state_dict())


@pytest.mark.parametrize(
    "kwargs",
    [{"nonlinearity": "sigmoid"}, {"dropout": 1.5}, {"bias": 1}, {"num_layers": 0}],
    ids=["nonlinearity", "dropout", "bias", "layers"],
)
def test_same_constructor_errors_as_torch(kwargs):
    layers = kwargs.pop("num_layers", 1)
    with pytest.raises(Exception) as expected:
        nn.RNN(4, 5, layers, **kwargs)
    with pytest.raises(expected.type):
        rn.RNN(4, 5, layers, **kwargs)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_function(reverse, relu):
    torch.manual_seed(7)
    batch_sizes = (3, 3, 2, 1)

    def leaf(*shape):
        return torch.randn(*shape, dtype=torch.float64, requires_grad=True)

    args = (leaf(sum(batch_sizes), 3), leaf(3, 3), leaf(3, 3))
    assert torch.autograd.gradcheck(
        lambda x, h, w: RNNRecurrence.apply(x, h, w, relu, batch_sizes, reverse), args
    )


@pytest.mark.parametrize("p", [0.0, 0.276, 0.731, 1.0])
@pytest.mark.parametrize("train", [True, False])
def test_dropout_between_layers_like_pytorch_test(p, train):
    """PyTorch's test_RNN_dropout: ReLU RNN, all weights 1, so every unit of layer 1 is 10."""
    torch.manual_seed(9)
    mine = rn.RNN(10, 1000, 2, bias=False, dropout=p, nonlinearity="relu")
    with torch.no_grad():
        for w in mine.parameters():
            w.fill_(1)
    mine.train(train)
    out, h_n = mine(torch.ones(1, 1, 10), torch.zeros(2, 1, 1000))
    torch.testing.assert_close(h_n[0], torch.full_like(h_n[0], 10.0))  # no dropout on output
    value = out[0, 0, 0].item()
    assert torch.all(out == value)  # second layer: every unit sums the same dropped input
    if p == 0 or not train:
        assert value == 10000
    elif p == 1:
        assert value == 0
    else:
        kept = value * (1 - p) / 10  # units of layer 1 that survived dropout
        assert abs(kept - round(kept)) < 1e-2
        assert abs(kept / 1000 - (1 - p)) < 0.06


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidir", [False, True])
def test_dropout_masks_and_grads_match_torch(cell, bidir):
    """Same seed, same RNG calls: training-mode dropout gives exactly torch.nn's results."""
    torch.manual_seed(10)
    ref = getattr(nn, cell)(4, 5, 3, dropout=0.5, bidirectional=bidir).double()
    mine = getattr(rn, cell)(4, 5, 3, dropout=0.5, bidirectional=bidir).double()
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(6, 3, 4, dtype=torch.float64)
    results = []
    for module in (ref, mine):
        torch.manual_seed(0)
        out = module(x)[0]
        results.append([out, *torch.autograd.grad(out.pow(2).sum(), list(module.parameters()))])
    for a, e in zip(*results[::-1], strict=True):
        torch.testing.assert_close(a, e, atol=1e-10, rtol=1e-10)
    torch.manual_seed(0)
    assert not torch.equal(mine(x)[0], mine.eval()(x)[0])  # dropout active only in training
    torch.testing.assert_close(mine(x)[0], ref.eval()(x)[0], atol=1e-10, rtol=1e-10)


def test_no_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning):
        rn.RNN(3, 4, 1, dropout=0.5)
    torch.manual_seed(11)
    mine = rn.RNN(3, 4, 1, dropout=0.9)
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(mine(x)[0], mine.eval()(x)[0])
