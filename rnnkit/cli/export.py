"""`rnnkit export`: a trained forecaster as one ONNX or TorchScript file (see docs/export.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.cli.common import forecast_steps
from rnnkit.forecasting.export import FORMATS, check_target, default_path, require_onnx


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a trained forecaster to ONNX or TorchScript",
        description="Write the run's forecaster as one graph: the raw last window (batch, "
        "window, features) in, the --steps step forecast in the target's units out (and the "
        "80%/95% interval bounds for a probabilistic model). Scaling, the network and the "
        "multi-step loop are all inside. The file is validated before it is written.",
    )
    parser.add_argument("run", metavar="RUN", help="a run folder written by 'rnnkit train'")
    parser.add_argument(
        "--format",
        required=True,
        choices=tuple(FORMATS),
        help="onnx (needs: pip install 'rnnkit[onnx]') or torchscript",
    )
    parser.add_argument(
        "--steps",
        type=forecast_steps,
        help="steps forecast per call (default: the horizon; recursive: one season)",
    )
    parser.add_argument(
        "--out", help="file to write (default: RUN/forecaster.onnx or RUN/forecaster.pt)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from rnnkit.forecasting.forecaster import Forecaster

    out = Path(args.out) if args.out else default_path(args.run, args.format)
    check_target(out, args.overwrite)  # before the slow part; an existing file stays untouched
    if args.format == "onnx":
        require_onnx()
    forecaster = Forecaster.load(args.run, device="cpu")
    forecaster.export(out, format=args.format, steps=args.steps, overwrite=args.overwrite)
    print(f"wrote {out} ({args.format}); inputs, outputs and shapes: see its metadata")
    return 0
