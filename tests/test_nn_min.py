"""MinGRU / MinLSTM (Feng et al. 2024): paper equations, scan == step loop, streaming state."""

from __future__ import annotations

import pytest
import torch

import rnnkit.nn as rn
from rnnkit.nn._scan import g, log_g, parallel_scan_log

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


def _paper_layer(name, w, b, x, h):
    """One direction of one layer, written straight from the paper's sequential equations."""
    outs = []
    for xt in x:  # x: (T, B, F)
        k = xt @ w.t() + b
        if name == "MinGRU":
            z, h_tilde = torch.sigmoid(k[:, :5]), _g(k[:, 5:])
            h = (1 - z) * h + z * h_tilde
        else:
            f, i, h_tilde = torch.sigmoid(k[:, :5]), torch.sigmoid(k[:, 5:10]), _g(k[:, 10:])
            h = f / (f + i) * h + i / (f + i) * h_tilde
        outs.append(h)
    return torch.stack(outs)


def _g(x):
    return torch.where(x >= 0, x + 0.5, 1 / (1 + torch.exp(-x)))


@pytest.mark.parametrize("name", ["MinGRU", "MinLSTM"])
@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_matches_paper_equations(name, mode):
    torch.manual_seed(0)
    module = getattr(rn, name)(3, 5, 2, bidirectional=True, mode=mode).double()
    x, h0 = torch.randn(6, 2, 3, dtype=torch.float64), torch.randn(4, 2, 5, dtype=torch.float64)
    out, h_n = module(x, h0)
    inp = x
    for layer in range(2):
        outs = []
        for d in range(2):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w, b = getattr(module, "weight_ih" + sfx), getattr(module, "bias_ih" + sfx)
            seq = inp.flip(0) if d else inp
            y = _paper_layer(name, w, b, seq, h0[2 * layer + d])
            torch.testing.assert_close(h_n[2 * layer + d], y[-1], atol=1e-10, rtol=1e-10)
            outs.append(y.flip(0) if d else y)
        inp = torch.cat(outs, -1)
    torch.testing.assert_close(out, inp, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("name", ["MinGRU", "MinLSTM"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_parallel_scan_equals_sequential_fp32(name, batch_first):
    torch.manual_seed(1)
    par = getattr(rn, name)(4, 5, 2, batch_first=batch_first, bidirectional=True)
    seq = getattr(rn, name)(4, 5, 2, batch_first=batch_first, bidirectional=True)
    seq.load_state_dict(par.state_dict())
    par.mode, seq.mode = "parallel", "sequential"
    x = torch.randn(3, 32, 4) if batch_first else torch.randn(32, 3, 4)
    h0 = torch.rand(4, 3, 5) - 0.5  # negative and positive initial states
    results = []
    for module in (par, seq):
        out, h_n = module(x, h0)
        grads = torch.autograd.grad(out.sum() + h_n.pow(2).sum(), list(module.parameters()))
        results.append([out, h_n, *grads])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["MinGRU", "MinLSTM"])
def test_stateful_chunks_continue_the_sequence(name):
    torch.manual_seed(2)
    module = getattr(rn, name)(3, 4, 2)  # mode 'auto': scan for T > 1, step for T == 1
    x = torch.randn(10, 2, 3)
    full, h_full = module(x)
    first, h = module(x[:6])
    second, h = module(x[6:], h)
    torch.testing.assert_close(torch.cat([first, second]), full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h, h_full, atol=1e-5, rtol=1e-5)
    h, steps = None, []
    for t in range(10):  # streaming inference, one step at a time
        y, h = module(x[t : t + 1], h)
        steps.append(y)
    torch.testing.assert_close(torch.cat(steps), full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h, h_full, atol=1e-5, rtol=1e-5)


def test_log_g_and_scan_against_direct_forms():
    torch.manual_seed(3)
    x = torch.linspace(-20, 20, 401, dtype=torch.float64)
    torch.testing.assert_close(torch.exp(log_g(x)), g(x))
    torch.testing.assert_close(g(x), _g(x))
    coeffs = torch.rand(50, 2, 3, dtype=torch.float64) * 0.9 + 0.05
    values = torch.rand(50, 2, 3, dtype=torch.float64) + 0.1
    h0 = torch.randn(2, 3, dtype=torch.float64)
    h, expected = h0, []
    for t in range(50):
        h = coeffs[t] * h + values[t]
        expected.append(h)
    got = parallel_scan_log(coeffs.log(), values.log(), h0)
    torch.testing.assert_close(got, torch.stack(expected), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("name", ["MinGRU", "MinLSTM"])
def test_long_sequence_gradients_are_finite(name):
    torch.manual_seed(4)
    module = getattr(rn, name)(4, 8, mode="parallel")
    out, h_n = module(torch.randn(2048, 2, 4))
    out.mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())


def test_mode_is_validated():
    with pytest.raises(ValueError):
        rn.MinGRU(3, 4, mode="fast")
