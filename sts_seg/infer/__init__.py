"""``stsseg infer``: masks for a folder of images (``infer.input``), or label volumes for every
patient of the source HDF5 (``data.h5``). :func:`infer` is the one entry point; the model is
used with the spec it was trained with (``stsseg.json`` beside it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sts_seg.config import Config
from sts_seg.errors import ConfigError
from sts_seg.infer.folder import FolderResult
from sts_seg.progress import ProgressFn, no_progress

__all__ = ["FolderResult", "InferResult", "infer", "model_path"]


@dataclass
class InferResult:
    """``folder``: the folder-mode result; ``volumes``: ``{patient: shape}`` of volume mode."""

    mode: str
    output: Path
    folder: FolderResult | None = None
    volumes: dict[str, tuple[int, int, int]] | None = None


def model_path(cfg: Config) -> Path:
    """``infer.model``, or ``<train.run_dir>/best.keras``."""
    return Path(cfg.infer.model or Path(cfg.train.run_dir) / "best.keras")


def infer(*, cfg: Config, force: bool = False, progress: ProgressFn = no_progress) -> InferResult:
    """Folder mode when ``infer.input`` is set, otherwise volume mode on ``data.h5``."""
    from sts_seg.infer.folder import infer_folder
    from sts_seg.infer.loading import load_predictor
    from sts_seg.infer.volumes import infer_volumes

    ic = cfg.infer
    if ic.output is None:
        raise ConfigError("--output is required (a folder for the masks)")
    if ic.input is None and cfg.data.h5 is None:
        raise ConfigError("give --input DIR (a folder of images) or --h5 FILE (volumes)")
    predictor, spec = load_predictor(model_path(cfg), cfg, ic.batch_size)
    if ic.input is not None:
        res = infer_folder(
            predictor, spec, ic.input, ic.output, overlay=ic.overlay, alpha=ic.overlay_alpha, force=force,
            progress=progress,
        )  # fmt: skip
        return InferResult("folder", Path(ic.output), folder=res)
    shapes = infer_volumes(
        predictor,
        Path(cfg.data.h5),
        Path(ic.output),
        spec=spec,
        spacing_mm=cfg.data.spacing_mm,
        postprocessing=cfg.postprocess.model_dump(),
        patients=ic.patients,
        nifti=ic.nifti,
        force=force,
        progress=progress,
    )
    return InferResult("volumes", Path(ic.output), volumes=shapes)
