"""``stsseg infer``: masks for a folder of images, or label volumes for an HDF5 file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sts_seg.cli.common import (
    ConfigArg,
    ForceOpt,
    SetOpt,
    SourceOpt,
    config_from,
    console,
    err_console,
    handle_errors,
    progress_bar,
    quiet_tensorflow,
)
from sts_seg.cli.evaluate import ModelOpt
from sts_seg.errors import ConfigError


@handle_errors
def infer(
    config: ConfigArg = None,
    input: Annotated[Path | None, typer.Option("--input", "-i", help="Folder of images (png, jpg, bmp, tif).")] = None,
    source: SourceOpt = None,
    cases: Annotated[
        list[str] | None, typer.Option("--cases", "--patients", help="Volume mode: case ids (repeatable).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output folder (masks; or predictions.h5 in volume mode).")
    ] = None,
    model: ModelOpt = None,
    overlay: Annotated[
        bool | None, typer.Option("--overlay", help="Also write the mask blended over the input.")
    ] = None,
    nifti: Annotated[bool | None, typer.Option("--nifti", help="HDF5 volumes: also write NIfTI (+ CT, PET).")] = None,
    tta: Annotated[str | None, typer.Option("--tta", help="Test-time augmentation: none or flips (infer.tta).")] = None,
    shard: Annotated[
        str | None, typer.Option("--shard", help="i/n: only the i-th (0-based) of n interleaved shards of the cases.")
    ] = None,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Masks (and overlays) for a folder of images (--input), or one mask per case of a source (--source).

    --model takes a .keras file, a run folder, an ONNX export or a cv folder (its fold models are averaged)."""
    if input is not None and source is not None:
        raise ConfigError("give one of --input DIR (images) or --source PATH (volumes), not both")
    values = {
        "infer.input": input,
        "data.source": source,
        "infer.cases": cases or None,
        "infer.output": output,
        "infer.model": model,
        "infer.overlay": overlay,
        "infer.nifti": nifti,
        "infer.tta": tta,
        "infer.shard": shard,
    }
    cfg = config_from(config, overrides, values)
    quiet_tensorflow()
    from sts_seg.infer import infer as run_infer

    with progress_bar("infer") as progress:
        res = run_infer(cfg=cfg, force=force, progress=progress)
    for note in res.notes or []:
        err_console.print(f"note: {note}", markup=False)
    if res.folder is not None:
        extra = " (+ overlays/)" if cfg.infer.overlay else ""
        console.print(f"wrote {len(res.folder.written)} mask(s) to {res.output}{extra}")
        for _name, why in res.folder.failed:
            err_console.print(f"error: {why}", markup=False)
        if res.folder.failed:
            raise typer.Exit(1)
        return
    if res.layout == "kaggle_h5":
        extra = " and <patient>.nii.gz (+ _ct, _pet)" if cfg.infer.nifti else ""
        console.print(f"wrote {len(res.volumes or {})} patient(s) to {res.output}: predictions.h5 (label_data){extra}")
    else:
        console.print(f"wrote {len(res.volumes or {})} case(s) to {res.output}: <case>.nii.gz on each case's own grid")


def register(app: typer.Typer) -> None:
    app.command()(infer)
