"""What the sequence estimators share: options turned into their config, a device, a history.

:class:`rnnkit.text.CharLM` and :class:`rnnkit.classify.SequenceClassifier` take the same
constructor: an optional cell, a whole ``config``, a whole ``train`` part, a device, and any
option of their config by its flat name (``hidden_size=64``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from rnnkit.config import configure
from rnnkit.models import resolve_device
from rnnkit.training.config import TrainConfig
from rnnkit.training.history import History

C = TypeVar("C")


class Estimator(Generic[C]):
    """The common constructor; subclasses name their config class and how it is called."""

    config_class: ClassVar[type]  # the estimator's config dataclass
    option_name: ClassVar[str] = "option"  # in errors: "unknown <option_name> 'x'"

    def __init__(
        self,
        cell: str | None = None,
        *,
        config: C | None = None,
        train: TrainConfig | None = None,
        device: str = "auto",
        **options: Any,
    ) -> None:
        """``options`` set the config's fields by name; ``train`` replaces its whole
        TrainConfig; ``config`` replaces the defaults."""
        if cell is not None:
            options["cell"] = cell
        defaults: C = config if config is not None else self.config_class()
        self.config: C = configure(defaults, options, what=self.option_name, train=train)
        self.device = resolve_device(device)
        self.history = History()
