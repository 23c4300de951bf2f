"""The parts of `rnnkit tune`: the space, the pruner, and best.toml's TOML."""

from __future__ import annotations

import math

import pytest

from rnnkit.forecasting.config import ForecasterConfig
from rnnkit.forecasting.runner import DataSpec
from rnnkit.tune.outputs import best_toml, toml_value
from rnnkit.tune.space import CELLS, HIDDEN_SIZES, Space

optuna = pytest.importorskip("optuna")  # the tune extra (part of dev)
tomllib = pytest.importorskip("tomllib")  # Python >= 3.11 reads TOML


def test_the_first_trial_is_the_defaults() -> None:
    space = Space.build({}, covariates=False)
    assert space.defaults(ForecasterConfig()) == {
        "model": "patch",
        "cell": "lstm",
        "hidden_size": 64,
        "num_layers": 1,
        "lr": 2e-3,
        "window_factor": 1.0,
    }
    classic = Space.build({"model": "classic", "num_layers": 2}, covariates=False)
    values = classic.defaults(ForecasterConfig.from_options(classic.fixed))
    assert values["lr"] == 3e-3 and values["window_norm"] == "last" and values["dropout"] == 0.0
    assert "model" not in values and "num_layers" not in values  # fixed: not searched


def test_covariates_and_the_recursive_strategy_fix_the_classic_model() -> None:
    assert Space.build({}, covariates=True).fixed == {"model": "classic"}
    assert Space.build({"strategy": "recursive"}, covariates=False).fixed["model"] == "classic"


def test_suggestions_follow_the_conditions() -> None:
    """Dropout only with two layers, window normalisation only for the classic model, fixed
    options never asked for: checked over many sampled trials."""
    space = Space.build({"hidden_size": 16}, covariates=False)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(40):
        trial = study.ask()
        params = space.suggest(trial)
        assert "hidden_size" not in params and params["cell"] in CELLS
        assert ("dropout" in params) == (params["num_layers"] == 2)
        assert ("window_norm" in params) == (params["model"] == "classic")
        assert 3e-4 <= params["lr"] <= 1e-2
        study.tell(trial, 1.0)
    assert set(HIDDEN_SIZES) == {32, 64, 128}


def _finished(study, family: str, values: list[float]) -> None:
    """A completed trial of ``family`` that reported ``values`` at epochs 1, 2, ..."""
    study.add_trial(
        optuna.trial.create_trial(
            value=values[-1],
            intermediate_values=dict(enumerate(values, start=1)),
            user_attrs={"family": family},
        )
    )


def test_the_pruner_compares_a_trial_with_its_own_family_only() -> None:
    from rnnkit.tune.pruner import FamilyMedianPruner

    study = optuna.create_study(pruner=FamilyMedianPruner(startup=3, warmup=2))
    for best in (1.0, 2.0, 3.0):  # patch trials: the median of the best losses is 2.0
        _finished(study, "patch/point", [best + 1.0, best, best])
    for _ in range(3):  # classic trials report much larger losses: they must not count
        _finished(study, "classic/last/point", [50.0, 40.0, 40.0])

    def should_prune(family: str, losses: list[float]) -> bool:
        trial = study.ask()
        trial.set_user_attr("family", family)
        for epoch, loss in enumerate(losses, start=1):
            trial.report(loss, epoch)
        pruned = trial.should_prune()
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return pruned

    assert should_prune("patch/point", [9.0, 2.5])  # worse than the patch median (2.0)
    assert not should_prune("patch/point", [9.0, 1.5])  # better
    assert not should_prune("patch/point", [9.0])  # still warming up
    assert not should_prune("classic/last/point", [9.0, 39.0])  # fine among its own
    assert not should_prune("other/point", [99.0, 99.0])  # no completed trial of its family


def test_best_toml_reads_back_as_the_same_values() -> None:
    spec = DataSpec(source="my data.csv", target="y", covariates=["a", "b"])
    options = {"cell": "gru", "lr": 1.5e-05, "window": 48, "likelihood": None, "compile": False}
    text = best_toml(spec, 0.2, options, ["a comment", 'with "quotes"'])
    data = tomllib.loads(text)
    assert data == {
        "data": "my data.csv",
        "target": "y",
        "covariates": "a,b",  # the text the flag reads
        "test-size": 0.2,
        "cell": "gru",
        "lr": 1.5e-05,
        "window": 48,
    }
    assert (
        toml_value(True) == "true" and tomllib.loads(f"x = {toml_value(math.pi)}")["x"] == math.pi
    )


def test_the_choice_needs_every_seed() -> None:
    from rnnkit.tune.confirm import Confirmed, chosen

    results = [
        Confirmed(0, [1.0, 1.1, 0.9]),  # the defaults: mean 1.0
        Confirmed(4, [0.5, 2.0, 1.9]),  # won the search on a lucky seed: mean 1.47
        Confirmed(7, [0.8, 0.7]),  # better, but the budget ended before its last seed
        Confirmed(9, [0.9, math.nan, 0.8]),  # diverged with one seed
    ]
    assert chosen(results, search_best=4) == 0
    assert chosen(results[1:], search_best=4) == 4
    assert chosen([], search_best=4) == 4  # no confirmation: the search's best
