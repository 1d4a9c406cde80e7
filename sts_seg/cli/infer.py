"""``stsseg infer``: masks for a folder of images, or label volumes for an HDF5 file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sts_seg.cli.common import (
    ConfigArg,
    ForceOpt,
    SetOpt,
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
    h5: Annotated[Path | None, typer.Option("--h5", help="Volume mode: a Kaggle-layout HDF5.")] = None,
    patients: Annotated[
        list[str] | None, typer.Option("--patients", help="Volume mode: patient ids (repeatable).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output folder (masks; or predictions.h5 in volume mode).")
    ] = None,
    model: ModelOpt = None,
    overlay: Annotated[
        bool | None, typer.Option("--overlay", help="Also write the mask blended over the input.")
    ] = None,
    nifti: Annotated[bool | None, typer.Option("--nifti", help="Volume mode: also write NIfTI files.")] = None,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Masks (and overlays) for a folder of images (--input), or label volumes for an HDF5 file (--h5)."""
    if input is not None and h5 is not None:
        raise ConfigError("give one of --input DIR (images) or --h5 FILE (volumes), not both")
    values = {
        "infer.input": input,
        "data.h5": h5,
        "infer.patients": patients or None,
        "infer.output": output,
        "infer.model": model,
        "infer.overlay": overlay,
        "infer.nifti": nifti,
    }
    cfg = config_from(config, overrides, values)
    quiet_tensorflow()
    from sts_seg.infer import infer as run_infer

    with progress_bar("infer") as progress:
        res = run_infer(cfg=cfg, force=force, progress=progress)
    if res.folder is not None:
        extra = " (+ overlays/)" if cfg.infer.overlay else ""
        console.print(f"wrote {len(res.folder.written)} mask(s) to {res.output}{extra}")
        for _name, why in res.folder.failed:
            err_console.print(f"error: {why}", markup=False)
        if res.folder.failed:
            raise typer.Exit(1)
        return
    extra = " and <patient>.nii.gz" if cfg.infer.nifti else ""
    console.print(f"wrote {len(res.volumes or {})} patient(s) to {res.output}: predictions.h5 (label_data){extra}")


def register(app: typer.Typer) -> None:
    app.command()(infer)
