"""The translation benchmark's models: the Transformer has about the recurrent models' size."""

from __future__ import annotations

from dataclasses import replace

import pytest

from benchmarks.bench_translate_cells import SETTINGS, config_for
from rnnkit.models import count_parameters
from rnnkit.translate.config import adaptive_cutoffs
from rnnkit.translate.model import build_model


def _parameters(name: str) -> int:
    # Tatoeba en->fr under 10 words: 7,485 English and 11,803 French vocabulary entries
    config = config_for(name, minutes=1.0, seed=0)
    model = replace(config.model, src_vocab_size=7485, tgt_vocab_size=11803)
    model.adaptive_cutoffs = adaptive_cutoffs(11803, config.adaptive_from)
    return count_parameters(build_model(model))


def test_the_transformer_matches_the_gru_models_parameter_count() -> None:
    gru, transformer = _parameters("gru"), _parameters("transformer")
    assert abs(transformer - gru) / gru < 0.02


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_model_trains_one_budgeted_epoch_at_a_constant_rate(name: str) -> None:
    config = config_for(name, minutes=2.5, seed=3)
    assert config.train.epochs == 1 and config.train.max_minutes == 2.5
    assert config.train.seed == 3 and config.max_words == 9
    assert config.teacher_forcing == [1.0, 1.0]
