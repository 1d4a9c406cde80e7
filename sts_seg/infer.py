"""``stsseg infer``: masks for a folder of images, or for whole HDF5 volumes.

Folder mode writes ``<output>/<stem>.png`` palette masks (0 black, 1 yellow, like the original)
at each image's own size, plus ``<output>/overlays/<stem>.png`` with ``overlay``. An unreadable
file is reported and skipped. Volume mode slices each patient exactly as ``prepare`` does,
predicts, restacks onto the native grid and writes a Kaggle-layout ``label_data`` HDF5
(and optional NIfTI files).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sts_seg import viz
from sts_seg.config import Config
from sts_seg.data.geometry import back_to_shape, placement_for, to_native
from sts_seg.errors import DataError, OverwriteError, StsSegError
from sts_seg.io import h5, png
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.io.layout import list_images
from sts_seg.io.nifti import write_nifti
from sts_seg.postprocess import postprocess
from sts_seg.predict import Predictor
from sts_seg.prepare import canvas_image
from sts_seg.train.arrays import fit_image
from sts_seg.types import ProgressFn, no_progress


@dataclass
class FolderResult:
    output: Path
    written: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _check_folders(input_dir: Path, output: Path, force: bool) -> dict[str, Path]:
    if not Path(input_dir).is_dir():
        raise DataError(f"{input_dir}: input folder not found; pass a folder of png/jpg/bmp/tif images")
    src, dst = Path(input_dir).resolve(), Path(output).resolve()
    if src.is_relative_to(dst) or dst.is_relative_to(src):
        raise OverwriteError(
            f"{output}: output folder overlaps the input folder {input_dir}; inputs are never overwritten, "
            "choose a separate output folder"
        )
    if Path(output).is_dir() and list_images(output) and not force:
        raise OverwriteError(f"{output}: already holds masks; pass --force to replace the folder")
    check_writable_dir(Path(output), force, "output folder")
    files = list_images(input_dir)
    if not files:
        raise DataError(f"{input_dir}: no images (png, jpg, bmp, tif) found")
    return files


def infer_folder(
    predictor: Predictor,
    input_dir: Path,
    output: Path,
    cfg: Config,
    overlay: bool = False,
    force: bool = False,
    progress: ProgressFn = no_progress,
) -> FolderResult:
    """Predict every image in ``input_dir``; failures are recorded, the rest still processed."""
    files = _check_folders(input_dir, output, force)
    result = FolderResult(Path(output))
    names = list(files)
    with staged_dir(output, force=force, what="output folder") as tmp:
        if overlay:
            (tmp / "overlays").mkdir()
        for start in range(0, len(names), predictor.batch_size):
            chunk, imgs, fitted = names[start : start + predictor.batch_size], {}, []
            for name in chunk:
                try:
                    imgs[name] = png.read_image(files[name])
                    fitted.append(fit_image(imgs[name], predictor.size, predictor.channels, files[name]))
                except StsSegError as exc:
                    imgs.pop(name, None)
                    result.failed.append((files[name].name, str(exc)))
            if fitted:
                labels = predictor.labels(np.stack(fitted))
                for name, lab in zip(list(imgs), labels, strict=True):
                    mask = back_to_shape(lab, imgs[name].shape[:2])
                    png.write_mask(tmp / f"{name}.png", mask)
                    if overlay:
                        png.write_image(
                            tmp / "overlays" / f"{name}.png", viz.blend(imgs[name], mask, cfg.infer.overlay_alpha)
                        )
                    result.written.append(name)
            progress(min(start + predictor.batch_size, len(names)), len(names), chunk[-1])
    return result


def predict_volume(predictor: Predictor, vol: h5.Volume, cfg: Config) -> np.ndarray:
    """``[z, y, x]`` uint8 mask for one patient, sliced and placed exactly as ``prepare`` does."""
    if predictor.size != cfg.model.image_size:
        raise DataError(
            f"model input is {predictor.size} px but model.image_size is {cfg.model.image_size}; "
            "use the config the model was trained with"
        )
    p = placement_for(vol.ct.shape[1:], cfg.model.image_size, cfg.prepare.geometry)
    images = np.stack([canvas_image(vol.ct[z], vol.pet[z], cfg, p) for z in range(vol.ct.shape[0])])
    images = np.stack([fit_image(img, predictor.size, predictor.channels, Path(vol.patient)) for img in images])
    labels = predictor.labels(images)
    return np.stack([to_native(lab, p) for lab in labels])


def infer_volumes(
    predictor: Predictor,
    h5_path: Path,
    output: Path,
    cfg: Config,
    patients: Sequence[str] | None = None,
    nifti: bool = False,
    force: bool = False,
    progress: ProgressFn = no_progress,
) -> dict[str, tuple[int, int, int]]:
    """Write ``output`` (HDF5 ``label_data``) and, with ``nifti``, ``<output stem>_nifti/<patient>.nii.gz``."""
    output = Path(output)
    if output.exists() and not force:
        raise OverwriteError(f"{output}: exists; pass --force to replace it")
    if output.resolve() == Path(h5_path).resolve():
        raise OverwriteError(f"{output}: is the input file; choose another output")
    nifti_dir = output.with_name(output.stem + "_nifti")
    if nifti:
        check_writable_dir(nifti_dir, force, "NIfTI folder")
    available = h5.list_patients(h5_path)
    ids = list(patients) if patients else available
    unknown = sorted(set(ids) - set(available))
    if unknown:
        raise DataError(f"{h5_path}: patient(s) {', '.join(unknown)} not found; available: {', '.join(available)}")
    masks = {}
    for i, pid in enumerate(ids):
        masks[pid] = postprocess(
            predict_volume(predictor, h5.read_volume(h5_path, pid), cfg), cfg.postprocess, cfg.data.spacing_mm
        )
        progress(i + 1, len(ids), pid)
    h5.write_label_h5(output, masks)
    if nifti:
        with staged_dir(nifti_dir, force=force, what="NIfTI folder") as tmp:
            for pid, m in masks.items():
                write_nifti(tmp / f"{pid}.nii.gz", m, cfg.data.spacing_mm)
    return {pid: m.shape for pid, m in masks.items()}
