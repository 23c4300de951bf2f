"""Machine translation: an attentional recurrent encoder-decoder trained on sentence pairs.

Modules: :mod:`~rnnkit.translate.data` (pairs files, normalisation, split by source sentence),
:mod:`~rnnkit.translate.vocab` (word vocabularies), :mod:`~rnnkit.translate.model` (encoder,
attention, decoder), :mod:`~rnnkit.translate.search` (greedy and beam search),
:mod:`~rnnkit.translate.evaluate` (BLEU/chrF and the retrieval baseline),
:mod:`~rnnkit.translate.config` (its options), :mod:`~rnnkit.translate.translator` (the
estimator) and :mod:`~rnnkit.translate.figures`.
"""

from rnnkit.translate.translator import Translator, TranslatorConfig

__all__ = ["Translator", "TranslatorConfig"]
