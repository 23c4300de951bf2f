"""``rnnkit.nn.LayerNormGRU``: GRU with layer normalisation (Ba et al. 2016 recipe)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn._base import RecurrentBase, State
from rnnkit.nn._layout import step_order

LN_EPS = 1e-5  # torch.nn.LayerNorm's default


class LayerNormGRU(RecurrentBase):
    """GRU whose input and recurrent pre-activations are layer-normalised separately.

    Ba et al. 2016 (§3.1, and §6.3's LN-GRU-style models) normalise each summed input term
    before the biases; applied to torch.nn.GRU's form (gate order r, z, n):

        xg = LN(W_ih x_t; a_ih) + b_ih,   hg = LN(W_hh h_{t-1}; a_hh) + b_hh       (3H each)
        r = sigmoid(xg_r + hg_r),  z = sigmoid(xg_z + hg_z),  n = tanh(xg_n + r * hg_n)
        h_t = (1 - z) * n + z * h_{t-1}

    LN gains ``ln_ih_weight``/``ln_hh_weight`` (3H) start at 1; other parameters are named
    and initialised like torch.nn.GRU's.  Returns ``output, h_n``.  Plain autograd loop.
    """

    _mode = "LayerNormGRU"
    _gate_count = 3

    def _extra_parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"ln_ih_weight": (3 * self.hidden_size,), "ln_hh_weight": (3 * self.hidden_size,)}

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for name, param in self.named_parameters():
            if name.startswith("ln_"):
                nn.init.ones_(param)

    def _run_direction(
        self, x: Tensor, state: State, layer: int, direction: int, batch_sizes: tuple[int, ...]
    ) -> tuple[Tensor, State]:
        w = self.weights(layer, direction)
        hid, full = self.hidden_size, batch_sizes[0]
        xg = F.layer_norm(x @ w["weight_ih"].t(), (3 * hid,), w["ln_ih_weight"], eps=LN_EPS)
        if self.bias:
            xg = xg + w["bias_ih"]  # (N, 3H): LN'd input part, all steps at once
        x_steps = xg.split(batch_sizes)
        h = state[0]
        outs: list[Tensor] = [h] * len(batch_sizes)
        for t in step_order(len(batch_sizes), direction == 1):
            b = batch_sizes[t]
            hg = F.layer_norm(h[:b] @ w["weight_hh"].t(), (3 * hid,), w["ln_hh_weight"], eps=LN_EPS)
            if self.bias:
                hg = hg + w["bias_hh"]
            xr, xz, xn = x_steps[t].chunk(3, 1)
            hr, hz, hn = hg.chunk(3, 1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)  # r multiplies the normalised W_hn h + b_hn
            h_new = torch.lerp(n, h[:b], z)  # (1 - z) * n + z * h
            outs[t] = h_new
            h = h_new if b == full else torch.cat([h_new, h[b:]])
        return torch.cat(outs), (h,)
