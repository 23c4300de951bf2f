"""`rnnkit diagnose gradients`: dL/dh_t is right, and the command works end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from rnnkit.compare.diagnose import hidden_state_gradients
from rnnkit.data.tasks import adding_problem
from rnnkit.models import ModelConfig, SequenceModel, last_hidden
from tests.conftest import assert_one_line_error, flag_help


def _gradient_by_restarting_at(model: SequenceModel, x, y, t: int) -> torch.Tensor:
    """Independent check: run steps 0..t without autograd, make h_t a fresh leaf, finish the
    sequence from it, and ask autograd.grad for d loss / d h_t (c_t held fixed)."""
    with torch.no_grad():
        _, state = model.rnn(x[:, : t + 1])  # h_t: the state after reading x_t
    lstm = isinstance(state, tuple)
    h = (state[0] if lstm else state).clone().requires_grad_(True)
    final = (h, state[1]) if lstm else h
    if t + 1 < x.shape[1]:
        _, final = model.rnn(x[:, t + 1 :], final)
    loss = F.mse_loss(model.head(last_hidden(final, 1)), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, h)
    return grad[-1].norm(dim=-1).mean()  # (batch, hidden) -> mean of per-sequence norms


@pytest.mark.parametrize("cell,backend", [("rnn", "torch"), ("lstm", "torch"), ("gru", "rnnkit")])
def test_hidden_state_gradients_match_autograd_from_each_step(cell: str, backend: str) -> None:
    x, y = adding_problem(5, 6, seed=0)
    model = SequenceModel(ModelConfig(cell=cell, backend=backend, input_size=2, hidden_size=7))
    norms = hidden_state_gradients(model, x, y)
    assert norms.shape == (6,)
    for t in (0, 2, 5):
        expected = _gradient_by_restarting_at(model, x, y, t)
        assert float(norms[t]) == pytest.approx(float(expected), rel=1e-4)


def test_last_step_gradient_is_the_heads_weight_times_the_error() -> None:
    x, y = adding_problem(4, 5, seed=1)
    model = SequenceModel(ModelConfig(cell="gru", input_size=2, hidden_size=3))
    norms = hidden_state_gradients(model, x, y)
    with torch.no_grad():
        error = model(x) - y  # (4, 1)
        expected = (2 * error.abs() * model.head.weight.norm()).mean()  # d (p - y)^2 / d h
    assert float(norms[-1]) == pytest.approx(float(expected), rel=1e-5)


def test_fused_output_sequence_hides_the_recurrent_gradient() -> None:
    """Why diagnose unrolls: retain_grad on nn.LSTM's output only sees the direct gradient."""
    x, y = adding_problem(3, 5, seed=2)
    model = SequenceModel(ModelConfig(cell="lstm", backend="torch", input_size=2, hidden_size=4))
    output, _ = model.rnn(x)
    output.retain_grad()
    F.mse_loss(model.head(output[:, -1]), y).backward()
    assert output.grad is not None
    assert output.grad[:, :-1].abs().sum() == 0  # zero, although h_0 does affect the loss
    assert hidden_state_gradients(model, x, y)[0] > 0


def test_diagnose_gradients_end_to_end(cli, tmp_path: Path) -> None:
    out = tmp_path / "diag"
    args = ["--length", "8", "--hidden-size", "4", "--train-epochs", "1", "--train-size", "64"]
    result = cli("diagnose", "gradients", "--cells", "rnn,lstm,minlstm", *args, "--out", out)
    assert result.code == 0, result.err
    summary = json.loads((out / "gradients.json").read_text())
    assert list(summary["cells"]) == ["rnn", "lstm", "minlstm"]
    for cell in summary["cells"].values():
        for stage in ("init", "trained"):
            norms = cell[stage]["norms"]
            assert len(norms) == 8 and all(n > 0 for n in norms)
            assert cell[stage]["first_over_last"] == pytest.approx(norms[0] / norms[-1])
        assert cell["epochs"] == 1 and cell["init"]["norms"] != cell["trained"]["norms"]
    assert (out / "gradients.png").stat().st_size > 0
    assert "trained" in result.out


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--length", "1"], "length"),
        (["--length", "0"], "positive"),
        (["--cells", "lstn"], "did you mean 'lstm'"),
        (["--train-epochs", "0"], "positive"),
    ],
)
def test_bad_diagnose_input_is_one_line_exit_2(
    cli, tmp_path: Path, args: list[str], needle: str
) -> None:
    result = cli("diagnose", "gradients", *args, "--out", tmp_path / "o")
    assert_one_line_error(result)
    assert needle in result.err
    assert not (tmp_path / "o").exists()


def test_diagnose_refuses_non_empty_out_and_needs_a_diagnostic(cli, tmp_path: Path) -> None:
    (tmp_path / "keep").write_text("x")
    result = cli("diagnose", "gradients", "--length", "4", "--out", tmp_path)
    assert_one_line_error(result)
    assert (tmp_path / "keep").read_text() == "x"
    assert_one_line_error(cli("diagnose"))
    assert_one_line_error(cli("diagnose", "weights"))


DIAGNOSE_FLAGS = ["--length", "--hidden-size", "--train-size", "--train-epochs", "--seed"]


def test_diagnose_flags_are_generated_with_help_and_reach_the_config(cli, tmp_path: Path) -> None:
    """The flags come from GradientConfig (and its TrainConfig part: --seed is the training
    seed, --train-epochs its epochs); what they set is what gradients.json records."""
    help_text = cli("diagnose", "gradients", "--help").out
    for flag in DIAGNOSE_FLAGS:
        assert len(flag_help(help_text, flag).split()) > 2, flag  # flag, metavar, help
    assert sum(line.strip().startswith("--seed") for line in help_text.splitlines()) == 1
    args = ["--length", "6", "--hidden-size", "3", "--train-size", "40", "--train-epochs", "2"]
    out = tmp_path / "flags"
    result = cli("diagnose", "gradients", "--cells", "gru", *args, "--seed", "7", "--out", out)
    assert result.code == 0, result.err
    summary = json.loads((out / "gradients.json").read_text())
    config = summary["config"]
    assert (config["length"], config["hidden_size"], config["train_size"]) == (6, 3, 40)
    assert (config["train"]["epochs"], config["train"]["seed"]) == (2, 7)
    assert "seed" not in config  # one seed: the training part's
    assert (
        summary["cells"]["gru"]["epochs"] == 2
        and len(summary["cells"]["gru"]["init"]["norms"]) == 6
    )


def test_diagnose_takes_its_flags_from_a_config_file(cli, tmp_path: Path) -> None:
    path = tmp_path / "diag.json"
    options = {"length": 5, "hidden-size": 2, "train_size": 30, "train-epochs": 1, "seed": 3}
    path.write_text(json.dumps(options))
    out = tmp_path / "o"
    result = cli(
        "diagnose", "gradients", "--cells", "rnn", "--config", path, "--seed", "4", "--out", out
    )
    assert result.code == 0, result.err
    config = json.loads((out / "gradients.json").read_text())["config"]
    assert (config["length"], config["hidden_size"], config["train_size"]) == (5, 2, 30)
    assert (config["train"]["epochs"], config["train"]["seed"]) == (1, 4)  # the flag wins
    path.write_text(json.dumps({"train-size": 0}))
    result = cli("diagnose", "gradients", "--config", path, "--out", tmp_path / "bad")
    assert_one_line_error(result)
    assert "train-size" in result.err and not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--train-size", "0"], "--train-size"),
        (["--hidden-size", "big"], "--hidden-size"),
        (["--seed", "x"], "--seed"),
        (["--length", "-3"], "--length"),
    ],
)
def test_bad_diagnose_flag_value_is_one_line_exit_2(
    cli, tmp_path: Path, args: list[str], needle: str
) -> None:
    result = cli("diagnose", "gradients", *args, "--out", tmp_path / "o")
    assert_one_line_error(result)
    assert needle in result.err and not (tmp_path / "o").exists()
