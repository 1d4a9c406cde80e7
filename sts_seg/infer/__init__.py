"""``stsseg infer``: masks for a folder of images (``infer.input``), or label volumes for every
patient of the source HDF5 (``data.h5``). :func:`infer` is the one entry point."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sts_seg.config import Config
from sts_seg.errors import ConfigError
from sts_seg.infer.folder import FolderResult, infer_folder
from sts_seg.progress import ProgressFn, no_progress

__all__ = ["FolderResult", "InferResult", "infer"]


@dataclass
class InferResult:
    """``folder``: the folder-mode result; ``volumes``: ``{patient: shape}`` of volume mode."""

    mode: str
    output: Path
    folder: FolderResult | None = None
    volumes: dict[str, tuple[int, int, int]] | None = None
    nifti_dir: Path | None = None


def infer(*, cfg: Config, force: bool = False, progress: ProgressFn = no_progress) -> InferResult:
    """Folder mode when ``infer.input`` is set, otherwise volume mode on ``data.h5``."""
    from sts_seg.infer.predictor import Predictor
    from sts_seg.infer.volumes import infer_volumes

    ic = cfg.infer
    if ic.output is None:
        raise ConfigError("--output is required (a folder, or FILE.h5 in volume mode)")
    if ic.input is None and cfg.data.h5 is None:
        raise ConfigError("give --input DIR (a folder of images) or --h5 FILE (volumes)")
    predictor = Predictor.from_path(ic.model or Path(cfg.train.run_dir) / "best.keras", ic.batch_size)
    if ic.input is not None:
        res = infer_folder(
            predictor, ic.input, ic.output, overlay=ic.overlay, alpha=ic.overlay_alpha, force=force, progress=progress
        )
        return InferResult("folder", Path(ic.output), folder=res)
    shapes = infer_volumes(
        predictor,
        Path(cfg.data.h5),
        Path(ic.output),
        spec=cfg.slice_spec,
        spacing_mm=cfg.data.spacing_mm,
        postprocessing=cfg.postprocess.model_dump(),
        patients=ic.patients,
        nifti=ic.nifti,
        force=force,
        progress=progress,
    )
    nifti_dir = Path(ic.output).with_name(Path(ic.output).stem + "_nifti") if ic.nifti else None
    return InferResult("volumes", Path(ic.output), volumes=shapes, nifti_dir=nifti_dir)
