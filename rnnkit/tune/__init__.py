"""``rnnkit tune``: a search over the forecaster's options, scored where the test part is unseen.

Each series' training part is cut again: the search fits every trial on its first part and
scores it (MASE by default) on its last ``val_size`` points; the test part is never read by
the search. The best configuration and the defaults are then fitted on the whole training part
and scored once on the test part, side by side. Built on Optuna (an optional extra,
``pip install 'rnnkit[tune]'``): a seeded TPE sampler, and the median rule among trials of the
same model family on the validation losses the training loop reports after every epoch
(:mod:`.pruner`). The parts:

- :mod:`.settings`: the search's options (trials, time budget, validation size, metric);
- :mod:`.space`: what is searched, and how a trial's values become forecaster options;
- :mod:`.trials`: one trial (fit, report, prune, score) and its row of ``trials.csv``;
- :mod:`.search`: the study, its budget, and the final fits;
- :mod:`.outputs`: ``trials.csv``, ``trials.png``, ``best.toml`` and ``summary.json``.

Optuna is imported only when a search starts (:func:`.search.require_optuna`).
"""

from rnnkit.tune.settings import TuneSettings

__all__ = ["TuneSettings"]
