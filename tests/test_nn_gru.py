"""rnnkit.nn.GRU against torch.nn.GRU: outputs, states, every gradient, errors, gradcheck."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import rnnkit.nn as rn
from rnnkit.nn._gru_kernel import GRURecurrence
from tests.nn_helpers import assert_same_as_torch

# (batch_first, bias) only as two pairs: each flag is exercised both ways at half the cost.
GRID = [
    (layers, bidir, batch_first, bias)
    for layers, bidir, (batch_first, bias), _ in itertools.product(
        (1, 2), (False, True), ((False, True), (True, False)), (None,)
    )
]


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize(("layers", "bidir", "batch_first", "bias"), GRID)
def test_matches_torch(dtype, packed, layers, bidir, batch_first, bias):
    torch.manual_seed(1)
    opts = dict(bias=bias, batch_first=batch_first, bidirectional=bidir)
    ref = nn.GRU(4, 5, layers, **opts).to(dtype)
    mine = rn.GRU(4, 5, layers, **opts).to(dtype)
    lengths = [5, 2, 4] if packed else None
    assert_same_as_torch(ref, mine, steps=5, lengths=lengths, with_hx=layers == 2)


def test_same_init_names_and_state_dict_both_ways():
    torch.manual_seed(3)
    ref = nn.GRU(4, 6, 2, bidirectional=True)
    torch.manual_seed(3)
    mine = rn.GRU(4, 6, 2, bidirectional=True)
    ref_params, my_params = dict(ref.named_parameters()), dict(mine.named_parameters())
    assert list(ref_params) == list(my_params)
    for name, p in ref_params.items():
        torch.testing.assert_close(my_params[name], p, rtol=0, atol=0)  # same uniform draws
    mine.load_state_dict(nn.GRU(4, 6, 2, bidirectional=True).state_dict())
    ref.load_state_dict(mine.state_dict())


def test_n_gate_uses_reset_times_hidden_projection():
    """GRU's n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): only b_hn's n-part is inside r."""
    torch.manual_seed(4)
    ref, mine = nn.GRU(2, 3), rn.GRU(2, 3)
    with torch.no_grad():
        ref.bias_hh_l0[6:].fill_(2.0)  # a large b_hn makes the r * (. + b_hn) form visible
    mine.load_state_dict(ref.state_dict())
    x, h0 = torch.randn(4, 2, 2), torch.randn(1, 2, 3)
    torch.testing.assert_close(mine(x, h0)[0], ref(x, h0)[0], atol=1e-5, rtol=1e-5)


def test_unbatched_input_and_default_state():
    torch.manual_seed(5)
    ref, mine = nn.GRU(3, 4, 2), rn.GRU(3, 4, 2)
    mine.load_state_dict(ref.state_dict())
    x, h0 = torch.randn(6, 3), torch.randn(2, 4)
    for args in ((x,), (x, h0)):
        (o1, h1), (o2, h2) = ref(*args), mine(*args)
        assert o1.shape == o2.shape and h1.shape == h2.shape
        torch.testing.assert_close(o2, o1, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(h2, h1, atol=1e-5, rtol=1e-5)


BAD_CALLS = {
    "input features": lambda m: m(torch.randn(5, 3, 7)),
    "1-D input": lambda m: m(torch.randn(4)),
    "hx shape": lambda m: m(torch.randn(5, 3, 4), torch.randn(1, 2, 5)),
    "hx layers": lambda m: m(torch.randn(5, 3, 4), torch.randn(2, 3, 5)),
    "2-D hx for 3-D input": lambda m: m(torch.randn(5, 3, 4), torch.randn(3, 5)),
    "3-D hx for 2-D input": lambda m: m(torch.randn(5, 4), torch.randn(1, 1, 5)),
    "dtype": lambda m: m(torch.randn(5, 3, 4, dtype=torch.float64)),
}


@pytest.mark.parametrize("call", list(BAD_CALLS), ids=list(BAD_CALLS))
def test_same_errors_as_torch(call):
    torch.manual_seed(6)
    with pytest.raises(Exception) as expected:
        BAD_CALLS[call](nn.GRU(4, 5))
    with pytest.raises(expected.type):
        BAD_CALLS[call](rn.GRU(4, 5))


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_function(reverse, bias):
    torch.manual_seed(7)
    batch_sizes, hid = (3, 3, 2, 1), 3

    def leaf(*shape):
        return torch.randn(*shape, dtype=torch.float64, requires_grad=True)

    args = (leaf(sum(batch_sizes), 3 * hid), leaf(3, hid), leaf(3 * hid, hid))
    b_hh = leaf(3 * hid) if bias else None
    assert torch.autograd.gradcheck(
        lambda x, h, w, *b: GRURecurrence.apply(x, h, w, *(b or (None,)), batch_sizes, reverse),
        (*args, *((b_hh,) if b_hh is not None else ())),
    )


def test_inference_path_matches_training_path():
    torch.manual_seed(8)
    mine = rn.GRU(3, 4, 2, bidirectional=True)
    x = torch.randn(6, 2, 3)
    with torch.no_grad():
        plain = mine(x)
    fused = mine(x)
    torch.testing.assert_close(fused[0], plain[0], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(fused[1], plain[1], atol=1e-6, rtol=1e-6)
