"""What training leaves behind: per-epoch records and the outcome of early stopping (plain data)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EpochRecord:
    """One epoch of history, as plain data."""

    epoch: int
    train_loss: float
    val_loss: float | None
    lr: float
    seconds: float


@dataclass
class History:
    """The per-epoch records and the outcome of early stopping."""

    records: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float | None = None
    stopped_early: bool = False
    out_of_time: bool = False  # TrainConfig.max_minutes ended training

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        records = [EpochRecord(**r) for r in data.get("records", [])]
        return cls(
            records=records,
            best_epoch=int(data.get("best_epoch", 0)),
            best_val_loss=data.get("best_val_loss"),
            stopped_early=bool(data.get("stopped_early", False)),
            out_of_time=bool(data.get("out_of_time", False)),
        )

    @property
    def train_seconds(self) -> float:
        return sum(r.seconds for r in self.records)
