"""Loading never runs code nor follows paths: pickled, foreign and damaged files are refused."""

from __future__ import annotations

import json
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from rnnkit.errors import UserError
from rnnkit.models import ModelConfig, SequenceModel
from rnnkit.runs import load_model_files, load_weights_into, save_model
from rnnkit.training.checkpoint import CHECKPOINT, load_checkpoint, read_checkpoint
from tests.train_driver import options, train


class Payload:
    """Unpickling this creates the file ``marker``: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (Path.touch, (self.marker,))


def small_model(hidden: int = 4) -> SequenceModel:
    return SequenceModel(ModelConfig(cell="gru", hidden_size=hidden))


def one_line_user_error(call: Callable[[], object], match: str) -> None:
    with pytest.raises(UserError, match=match) as caught:
        call()
    assert "\n" not in str(caught.value)


def test_the_payload_is_live_when_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))  # what an unsafe loader would do
    assert marker.exists()


@pytest.mark.parametrize("maker", ["pickle", "torch.save"])
def test_pickled_files_are_refused_without_running_them(tmp_path: Path, maker: str) -> None:
    marker = tmp_path / "ran"
    run = tmp_path / "run"
    run.mkdir()
    save_model(run, small_model(), {"kind": "sequence_model"})
    evil = {"weights": Payload(marker)}
    for path in (run / "model.safetensors", run / CHECKPOINT):
        if maker == "pickle":
            path.write_bytes(pickle.dumps(evil))
        else:
            torch.save(evil, path)
    one_line_user_error(lambda: load_model_files(run), "not a valid safetensors file")
    one_line_user_error(lambda: read_checkpoint(run), "not an rnnkit training checkpoint")
    one_line_user_error(lambda: train(options([str(run), "--resume"])), "training checkpoint")
    assert not marker.exists()


def test_paths_in_metadata_are_never_followed(tmp_path: Path) -> None:
    run, outside = tmp_path / "run", tmp_path / "outside"
    run.mkdir()
    outside.mkdir()
    save_model(outside, small_model(), {"kind": "sequence_model"}, name="decoy")
    save_model(run, small_model(), {"kind": "sequence_model"})
    meta = json.loads((run / "model.json").read_text())
    meta.update(weights="../outside/decoy.safetensors", path="../../etc/passwd")
    (run / "model.json").write_text(json.dumps(meta))
    (run / "model.safetensors").unlink()  # a loader that followed "weights" would succeed
    opened: list[str] = []
    listening = [True]  # audit hooks cannot be removed: this one goes quiet after the test

    def record(event: str, args: tuple[Any, ...]) -> None:
        if listening[0] and event == "open":
            opened.append(str(args[0]))

    sys.addaudithook(record)
    one_line_user_error(lambda: load_model_files(run), "model.safetensors' is missing")
    # the training checkpoint's JSON gets the same treatment
    train(options([str(run), "--epochs", "1", "--samples", "120"]))
    with safe_open(str(run / CHECKPOINT), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
        header = json.loads(handle.metadata()["rnnkit"])
    header.update(weights="../outside/decoy.safetensors", checkpoint="/etc/passwd")
    save_file(tensors, str(run / CHECKPOINT), metadata={"rnnkit": json.dumps(header)})
    train(options([str(run), "--epochs", "1", "--samples", "120", "--resume"]))
    listening[0] = False
    assert opened  # the hook saw the JSON files being read
    assert not [p for p in opened if os.fspath(outside) in p or p.startswith("/etc/passwd")]


def test_truncated_foreign_and_newer_files_are_one_line_errors(tmp_path: Path) -> None:
    save_model(tmp_path, small_model(), {"kind": "sequence_model"})
    weights = tmp_path / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    one_line_user_error(lambda: load_model_files(tmp_path), "not a valid safetensors file")
    weights.write_bytes(good)
    foreign = {"encoder.weight": torch.zeros(3, 3)}
    save_file(foreign, str(weights))
    tensors, _ = load_model_files(tmp_path)
    one_line_user_error(lambda: load_weights_into(small_model(), tensors, weights), "do not fit")
    bigger = {k: v for k, v in small_model(hidden=6).state_dict().items()}
    save_file(bigger, str(weights))
    tensors, _ = load_model_files(tmp_path)
    one_line_user_error(lambda: load_weights_into(small_model(), tensors, weights), "do not fit")
    meta = json.loads((tmp_path / "model.json").read_text())
    (tmp_path / "model.json").write_text(json.dumps({**meta, "format_version": 99}))
    one_line_user_error(lambda: load_model_files(tmp_path), "newer")


def test_a_checkpoint_from_another_model_or_format_is_refused(tmp_path: Path) -> None:
    train(options([str(tmp_path), "--epochs", "1", "--samples", "120"]))
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 1))
    optimizer = torch.optim.AdamW(model.parameters())
    one_line_user_error(
        lambda: load_checkpoint(tmp_path, model=model, optimizer=optimizer), "do not fit"
    )
    path = tmp_path / CHECKPOINT
    with safe_open(str(path), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
        header = json.loads(handle.metadata()["rnnkit"])
    save_file(tensors, str(path), metadata={"rnnkit": json.dumps({**header, "format_version": 7})})
    one_line_user_error(lambda: read_checkpoint(tmp_path), "newer")
    save_file(tensors, str(path), metadata={"rnnkit": json.dumps({**header, "format": "other"})})
    one_line_user_error(lambda: read_checkpoint(tmp_path), "not an rnnkit training checkpoint")
