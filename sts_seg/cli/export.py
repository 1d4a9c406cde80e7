"""``stsseg export``: a trained model as ONNX (or SavedModel / LiteRT) plus its ``stsseg.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sts_seg.cli.common import ForceOpt, console, handle_errors, quiet_tensorflow
from sts_seg.runtime import require


@handle_errors
def export(
    model: Annotated[Path, typer.Argument(help="A run folder, a .keras model, or a cv folder (all its folds).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Export folder (network files + stsseg.json).")],
    fmt: Annotated[str, typer.Option("--format", help="onnx (default), saved_model or litert.")] = "onnx",
    force: ForceOpt = False,
) -> None:
    """Export a model with everything needed to use it: the network and its preprocessing spec."""
    require("tensorflow", "stsseg export")
    if fmt == "onnx":
        require("tf2onnx", "stsseg export --format onnx")
    quiet_tensorflow()
    from sts_seg.export import export_model

    res = export_model(model=model, output=output, fmt=fmt, force=force)
    console.print(f"wrote {res.output}: {', '.join(res.files)} + stsseg.json ({fmt})")
    if fmt == "onnx":
        console.print(f"infer without TensorFlow: stsseg infer --model {res.output} --source CASES --output OUT")


def register(app: typer.Typer) -> None:
    app.command()(export)
