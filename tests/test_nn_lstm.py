"""rnnkit.nn.LSTM against torch.nn.LSTM: outputs, states, every gradient, errors, gradcheck."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import rnnkit.nn as rn
from rnnkit.nn import _layout
from rnnkit.nn._lstm_kernel import LSTMRecurrence
from tests.nn_helpers import assert_same_as_torch

# (batch_first, bias) only as two pairs: each flag is exercised both ways at half the cost.
GRID = [
    (layers, bidir, batch_first, bias, proj)
    for layers, bidir, (batch_first, bias), proj in itertools.product(
        (1, 2), (False, True), ((False, True), (True, False)), (0, 2)
    )
]


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize(("layers", "bidir", "batch_first", "bias", "proj"), GRID)
def test_matches_torch(dtype, packed, layers, bidir, batch_first, bias, proj):
    torch.manual_seed(1)
    opts = dict(bias=bias, batch_first=batch_first, bidirectional=bidir, proj_size=proj)
    ref = nn.LSTM(4, 5, layers, **opts).to(dtype)
    mine = rn.LSTM(4, 5, layers, **opts).to(dtype)
    lengths = [5, 2, 4] if packed else None
    assert_same_as_torch(ref, mine, steps=5, lengths=lengths, with_hx=layers == 2)


@pytest.mark.parametrize("bidir", [False, True])
def test_matches_torch_across_chunks(monkeypatch, bidir):
    """The fused kernel works on chunks of steps; force many small, uneven chunks."""
    torch.manual_seed(2)
    monkeypatch.setattr(_layout, "CHUNK_ROWS", 5)
    ref = nn.LSTM(3, 4, 2, bidirectional=bidir).double()
    assert_same_as_torch(
        ref,
        rn.LSTM(3, 4, 2, bidirectional=bidir).double(),
        steps=7,
        lengths=[7, 3, 6],
        with_hx=True,
    )


def test_same_init_names_and_state_dict_both_ways():
    torch.manual_seed(3)
    ref = nn.LSTM(4, 6, 2, bidirectional=True, proj_size=3)
    torch.manual_seed(3)
    mine = rn.LSTM(4, 6, 2, bidirectional=True, proj_size=3)
    ref_params, my_params = dict(ref.named_parameters()), dict(mine.named_parameters())
    assert list(ref_params) == list(my_params)
    for name, p in ref_params.items():
        torch.testing.assert_close(my_params[name], p, rtol=0, atol=0)  # same uniform draws
    assert all(p.abs().max() <= 6**-0.5 for p in my_params.values())
    mine.load_state_dict(nn.LSTM(4, 6, 2, bidirectional=True, proj_size=3).state_dict())
    ref.load_state_dict(mine.state_dict())


def test_unbatched_input_and_default_state():
    torch.manual_seed(4)
    ref, mine = nn.LSTM(3, 4, 2), rn.LSTM(3, 4, 2)
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(6, 3)
    (o1, (h1, c1)), (o2, (h2, c2)) = ref(x), mine(x)
    for a, b in ((o1, o2), (h1, h2), (c1, c2)):
        assert a.shape == b.shape
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    hx = (torch.randn(2, 4), torch.randn(2, 4))
    torch.testing.assert_close(mine(x, hx)[0], ref(x, hx)[0], atol=1e-5, rtol=1e-5)


def test_sorted_packed_sequence_keeps_indices_none():
    torch.manual_seed(5)
    ref, mine = nn.LSTM(3, 4), rn.LSTM(3, 4)
    mine.load_state_dict(ref.state_dict())
    packed = nn.utils.rnn.pack_padded_sequence(torch.randn(5, 3, 3), torch.tensor([5, 4, 2]))
    (o1, (h1, _)), (o2, (h2, _)) = ref(packed), mine(packed)
    assert o2.sorted_indices is None and o2.unsorted_indices is None
    torch.testing.assert_close(o2.data, o1.data, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(o2.batch_sizes, o1.batch_sizes)
    torch.testing.assert_close(h2, h1, atol=1e-5, rtol=1e-5)


BAD_CALLS = {
    "input features": lambda m: m(torch.randn(5, 3, 7)),
    "4-D input": lambda m: m(torch.randn(5, 3, 4, 1)),
    "h0 shape": lambda m: m(torch.randn(5, 3, 4), (torch.randn(2, 3, 5), torch.randn(1, 3, 5))),
    "c0 shape": lambda m: m(torch.randn(5, 3, 4), (torch.randn(1, 3, 5), torch.randn(1, 2, 5))),
    "2-D hx for 3-D input": lambda m: m(torch.randn(5, 3, 4), (torch.randn(3, 5),) * 2),
    "3-D hx for 2-D input": lambda m: m(torch.randn(5, 4), (torch.randn(1, 1, 5),) * 2),
}


@pytest.mark.parametrize("call", list(BAD_CALLS), ids=list(BAD_CALLS))
def test_same_errors_as_torch(call):
    torch.manual_seed(6)
    with pytest.raises(Exception) as expected:
        BAD_CALLS[call](nn.LSTM(4, 5))
    with pytest.raises(expected.type):
        BAD_CALLS[call](rn.LSTM(4, 5))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("proj", [False, True])
def test_gradcheck_function(reverse, proj):
    torch.manual_seed(7)
    batch_sizes, hid, out = (3, 3, 2, 1), 3, 2 if proj else 3

    def leaf(*shape):
        return torch.randn(*shape, dtype=torch.float64, requires_grad=True)

    args = (
        leaf(sum(batch_sizes), 2),
        leaf(4 * hid, 2),
        leaf(4 * hid),
        leaf(3, out),
        leaf(3, hid),
        leaf(4 * hid, out),
        leaf(out, hid) if proj else None,
    )
    assert torch.autograd.gradcheck(lambda *a: LSTMRecurrence.apply(*a, batch_sizes, reverse), args)


def test_inference_path_matches_training_path():
    torch.manual_seed(8)
    mine = rn.LSTM(3, 4, 2, bidirectional=True, proj_size=2)
    x = torch.randn(6, 2, 3)
    with torch.no_grad():
        plain = mine(x)
    fused = mine(x)
    torch.testing.assert_close(fused[0], plain[0], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(fused[1][1], plain[1][1], atol=1e-6, rtol=1e-6)


def test_jit_trace_uses_plain_ops():
    torch.manual_seed(9)
    mine = rn.LSTM(3, 4).eval()
    x = torch.randn(5, 2, 3)
    traced = torch.jit.trace(mine, (x,), check_trace=False)
    torch.testing.assert_close(traced(x)[0], mine(x)[0])
