"""``rnnkit.nn.LayerNormLSTM``: LSTM with layer normalisation (Ba et al. 2016, §3.1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn._base import RecurrentBase, State
from rnnkit.nn._layout import step_order

LN_EPS = 1e-5  # torch.nn.LayerNorm's default


class LayerNormLSTM(RecurrentBase):
    """LSTM whose gate pre-activations and cell output are layer-normalised (LN-LSTM).

    Following Ba et al. 2016 ("Layer Normalization", §3.1 and the LN-LSTM of the supplement),
    the input and the recurrent contributions are normalised *separately*, each over all
    4H gate units, before the biases are added; ``c_t`` is normalised before the output tanh:

        gates = LN(W_ih x_t; a_ih) + b_ih + LN(W_hh h_{t-1}; a_hh) + b_hh     (i, f, g, o)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(LN(c_t; a_c, b_c))

    LN gains ``ln_ih_weight``, ``ln_hh_weight`` (4H) and ``ln_cell_weight`` (H) start at 1 and
    ``ln_cell_bias`` (H, only with ``bias=True``) at 0; the other parameters are named and
    initialised like torch.nn.LSTM's.  Returns ``output, (h_n, c_n)``.  Plain autograd loop.
    """

    _mode = "LayerNormLSTM"
    _gate_count = 4
    _has_cell = True

    def _extra_parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {
            "ln_ih_weight": (4 * self.hidden_size,),
            "ln_hh_weight": (4 * self.hidden_size,),
            "ln_cell_weight": (self.hidden_size,),
        }
        if self.bias:
            shapes["ln_cell_bias"] = (self.hidden_size,)
        return shapes

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for name, param in self.named_parameters():
            if name.startswith("ln_"):
                nn.init.constant_(param, 1.0 if "_weight" in name else 0.0)

    def _run_direction(
        self, x: Tensor, state: State, layer: int, direction: int, batch_sizes: tuple[int, ...]
    ) -> tuple[Tensor, State]:
        w = self.weights(layer, direction)
        hid, full = self.hidden_size, batch_sizes[0]
        xg = F.layer_norm(x @ w["weight_ih"].t(), (4 * hid,), w["ln_ih_weight"], eps=LN_EPS)
        if self.bias:
            xg = xg + (w["bias_ih"] + w["bias_hh"])  # (N, 4H): LN'd input part, all steps
        x_steps = xg.split(batch_sizes)
        h, c = state
        outs: list[Tensor] = [h] * len(batch_sizes)
        for t in step_order(len(batch_sizes), direction == 1):
            b = batch_sizes[t]
            hg = F.layer_norm(h[:b] @ w["weight_hh"].t(), (4 * hid,), w["ln_hh_weight"], eps=LN_EPS)
            i, f, gg, o = (x_steps[t] + hg).chunk(4, 1)  # torch.nn.LSTM gate order
            c_new = torch.sigmoid(f) * c[:b] + torch.sigmoid(i) * torch.tanh(gg)
            c_norm = F.layer_norm(
                c_new, (hid,), w["ln_cell_weight"], w.get("ln_cell_bias"), eps=LN_EPS
            )
            h_new = torch.sigmoid(o) * torch.tanh(c_norm)
            outs[t] = h_new
            h = h_new if b == full else torch.cat([h_new, h[b:]])
            c = c_new if b == full else torch.cat([c_new, c[b:]])
        return torch.cat(outs), (h, c)
