"""The run directory, and the one save/load pair for models.

A saved model is two files side by side: ``NAME.safetensors`` (the weights; safetensors holds
only tensors, so loading it cannot run code) and ``NAME.json`` (everything else needed to rebuild
and use the model: kind, configs, scaler, columns, versions). Nothing here ever unpickles.
Every file is written atomically (a temporary file in the same folder, then ``os.replace``), so a
crash never leaves a half-written file under the real name.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from rnnkit._version import __version__
from rnnkit.errors import UserError

FORMAT = "rnnkit-model"
FORMAT_VERSION = 1


def environment() -> dict[str, str]:
    """Versions that a run was made with (recorded in every run directory)."""
    import pandas

    return {
        "rnnkit": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pandas.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def prepare_run_dir(path: str | Path, *, overwrite: bool = False) -> Path:
    """Create the output folder; refuse to reuse a non-empty one unless ``overwrite``."""
    run_dir = Path(path)
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"output path '{run_dir}' exists and is not a folder")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not overwrite:
        raise UserError(f"output folder '{run_dir}' is not empty; pass --overwrite or pick --out")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=run_dir, prefix=".probe-"):
            pass
    except OSError as err:
        raise UserError(f"cannot write to output folder '{run_dir}': {err.strerror}") from None
    return run_dir


def default_mode() -> int:
    """The permissions a new file gets (0o666 less the umask), as ``open`` would give it."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, write: Callable[[str], None], *, mode: int | None = None) -> None:
    """Write via ``write(tmp_path)`` beside ``path``, then rename it over ``path``.

    A crash or an error at any point leaves ``path`` as it was (old content or absent) and no
    temporary file behind. The file gets ``mode``, or the permissions ``open`` would give it.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, default_mode() if mode is None else mode)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp + ".data"):  # .data: the external-data file of large ONNX graphs
            if os.path.exists(leftover):
                os.unlink(leftover)


def _plain(obj: Any) -> Any:
    """JSON-safe copy: NaN and infinities become null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(_plain(data), indent=2, allow_nan=False) + "\n"

    def write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    atomic_write(Path(path), write)


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; a missing or malformed file is a UserError."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"'{path}' does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"'{path}' is not a readable JSON file ({err})") from None


def save_model(
    run_dir: str | Path, model: nn.Module, meta: dict[str, Any], name: str = "model"
) -> None:
    """Save the weights as NAME.safetensors and ``meta`` (kind, configs...) as NAME.json."""
    run_dir = Path(run_dir)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "versions": environment()}
    atomic_write(run_dir / f"{name}.safetensors", lambda tmp: save_file(tensors, tmp))
    write_json(run_dir / f"{name}.json", {**header, **meta})


def check_format(meta: Any, *, fmt: str, version: int, source: Path, what: str) -> dict[str, Any]:
    """``meta`` if it is an rnnkit ``what`` (format ``fmt``) no newer than ``version``."""
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise UserError(f"'{source}' is not an rnnkit {what}")
    found = meta.get("format_version")
    if not isinstance(found, int) or found > version:
        raise UserError(
            f"'{source}' was written in {what} format {found}, newer than this rnnkit "
            f"({__version__}) reads (format {version}); upgrade rnnkit"
        )
    return meta


def load_model_files(
    run_dir: str | Path, *, kind: str | None = None, name: str = "model"
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read NAME.safetensors and NAME.json from ``run_dir``, checking they are rnnkit's.

    ``kind`` (e.g. "forecaster") must match the saved one when given. Anything truncated,
    foreign, from a newer format or not a safetensors file is a UserError.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run folder '{run_dir}' does not exist")
    description = run_dir / f"{name}.json"
    meta = check_format(
        read_json(description),
        fmt=FORMAT,
        version=FORMAT_VERSION,
        source=description,
        what="model description",
    )
    if kind is not None and meta.get("kind") != kind:
        raise UserError(f"'{run_dir}' holds a {meta.get('kind')!r} model, not a {kind!r} model")
    weights = run_dir / f"{name}.safetensors"
    if not weights.is_file():
        raise UserError(f"'{weights}' is missing")
    try:
        tensors = load_file(weights)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise UserError(f"'{weights}' is not a valid safetensors file ({err})") from None
    return tensors, meta


def load_weights_into(model: nn.Module, tensors: dict[str, Tensor], source: str | Path) -> None:
    """``load_state_dict`` with a UserError (not a traceback) when the shapes or names differ."""
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise UserError(
            f"the weights in '{source}' do not fit the model they describe: {detail}"
        ) from None


def open_run(
    out: str | Path,
    config: dict[str, Any],
    *,
    resume: bool,
    overwrite: bool = False,
    same: list[str],
) -> Path:
    """The run folder: a new one (``config.json`` written), or, resuming, the interrupted one.

    Resuming checks that the ``same`` parts of ``config`` match the saved ``config.json``; the
    fit loop checks the training settings against its checkpoint.
    """
    out = Path(out)
    if not resume:
        prepare_run_dir(out, overwrite=overwrite)
        write_json(out / "config.json", {**config, "versions": environment()})
        return out
    saved = read_json(out / "config.json")
    fresh = json.loads(json.dumps(_plain(config)))
    for key in same:
        if saved.get(key) != fresh.get(key):
            raise UserError(
                f"--resume: the {key} settings differ from '{out / 'config.json'}'; give the "
                "data and flags the run started with"
            )
    return out


def checkpointing(run_dir: Path, *, resume: bool, every: int | None, hint: str) -> dict[str, Any]:
    """The keyword options that make ``fit`` checkpoint into (and resume from) ``run_dir``."""
    return {
        "run_dir": run_dir,
        "resume": resume,
        "checkpoint_every": every or 0,
        "resume_hint": hint,
    }
