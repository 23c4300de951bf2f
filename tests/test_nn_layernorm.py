"""LayerNormLSTM / LayerNormGRU (Ba et al. 2016): equations, LN placement, packing, grads."""

from __future__ import annotations

import sys

import pytest
import torch
import torch.nn.functional as F

import rnnkit.nn as rn

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


def _ln(v, gain, bias=None):
    return F.layer_norm(v, v.shape[-1:], gain, bias, eps=1e-5)


def _reference_step(name, p, xt, h, c):
    """One step written from the class docstring's equations (Ba et al. 2016, §3.1)."""
    if name == "LayerNormLSTM":
        gates = (
            _ln(xt @ p["weight_ih"].t(), p["ln_ih_weight"])
            + p["bias_ih"]
            + _ln(h @ p["weight_hh"].t(), p["ln_hh_weight"])
            + p["bias_hh"]
        )
        i, f, gg, o = gates.chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
        return torch.sigmoid(o) * torch.tanh(_ln(c, p["ln_cell_weight"], p["ln_cell_bias"])), c
    xr, xz, xn = (_ln(xt @ p["weight_ih"].t(), p["ln_ih_weight"]) + p["bias_ih"]).chunk(3, -1)
    hr, hz, hn = (_ln(h @ p["weight_hh"].t(), p["ln_hh_weight"]) + p["bias_hh"]).chunk(3, -1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return (1 - z) * n + z * h, c


@pytest.mark.parametrize("name", ["LayerNormLSTM", "LayerNormGRU"])
def test_matches_reference_equations(name):
    torch.manual_seed(0)
    module = getattr(rn, name)(3, 4).double()
    with torch.no_grad():
        for n, p in module.named_parameters():
            if n.startswith("ln_"):
                p.uniform_(0.5, 1.5)  # non-trivial gains/biases
    params = {n[: -len("_l0")]: p for n, p in module.named_parameters()}
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    h = torch.randn(2, 4, dtype=torch.float64)
    c = torch.randn(2, 4, dtype=torch.float64)
    hx = (h[None], c[None]) if name == "LayerNormLSTM" else h[None]
    out, hidden = module(x, hx)
    expected = []
    for xt in x:
        h, c = _reference_step(name, params, xt, h, c)
        expected.append(h)
    torch.testing.assert_close(out, torch.stack(expected), atol=1e-10, rtol=1e-10)
    if name == "LayerNormLSTM":
        torch.testing.assert_close(hidden[1][0], c, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("name", ["LayerNormLSTM", "LayerNormGRU"])
def test_normalisation_makes_weight_scale_irrelevant(name, monkeypatch):
    """LN sits on W_ih x and W_hh h: rescaling either weight matrix changes nothing."""
    monkeypatch.setattr(sys.modules[getattr(rn, name).__module__], "LN_EPS", 0.0)
    torch.manual_seed(1)
    module = getattr(rn, name)(3, 4, 2).double()
    x, h0 = torch.randn(5, 2, 3).double(), torch.randn(2, 2, 4).double()
    hx = (h0, h0) if name == "LayerNormLSTM" else h0
    before = module(x, hx)[0]
    with torch.no_grad():
        for n, p in module.named_parameters():
            if n.startswith(("weight_ih", "weight_hh")):
                p.mul_(7.0)
    torch.testing.assert_close(module(x, hx)[0], before, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("name", ["LayerNormLSTM", "LayerNormGRU"])
def test_ln_parameters_and_init(name):
    module = getattr(rn, name)(3, 4, bias=False)
    names = dict(module.named_parameters())
    assert "ln_ih_weight_l0" in names and "bias_ih_l0" not in names
    assert all(torch.all(p == 1) for n, p in names.items() if n.startswith("ln_"))
    assert all(p.abs().max() <= 0.5 for n, p in names.items() if n.startswith("weight"))
