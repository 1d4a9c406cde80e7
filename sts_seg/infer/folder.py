"""Folder mode: ``<output>/<stem>.png`` palette masks (0 black, 1 yellow, like the original) at
each image's own size, plus ``<output>/overlays/<stem>.png`` with ``overlay``. An unreadable file
is reported and skipped; the others are still written. The folder appears complete or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sts_seg.core import pictures
from sts_seg.core.slicing import SliceSpec
from sts_seg.errors import DataError, OverwriteError, StsSegError
from sts_seg.infer.images import predict_images
from sts_seg.infer.predictor import Predictor
from sts_seg.infer.shards import shard_of
from sts_seg.io import png
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.io.layout import list_images
from sts_seg.progress import ProgressFn, no_progress


@dataclass
class FolderResult:
    """Masks written (image stems) and files that failed (name, reason)."""

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
    check_writable_dir(Path(output), force, "output folder")
    files = list_images(input_dir)
    if not files:
        raise DataError(f"{input_dir}: no images (png, jpg, bmp, tif) found")
    return files


def infer_folder(
    predictor: Predictor,
    spec: SliceSpec,
    input_dir: Path,
    output: Path,
    *,
    overlay: bool = False,
    alpha: float = 0.45,
    force: bool = False,
    progress: ProgressFn = no_progress,
    shard: str | None = None,
) -> FolderResult:
    """Predict every image in ``input_dir`` (or the ``shard`` "i/n" of their sorted names);
    failures are recorded, the rest still processed."""
    files = _check_folders(input_dir, output, force)
    result = FolderResult(Path(output))
    names = shard_of(list(files), shard)
    with staged_dir(output, force=force, what="output folder") as tmp:
        if overlay:
            (tmp / "overlays").mkdir()
        for start in range(0, len(names), predictor.batch_size):
            chunk, images = names[start : start + predictor.batch_size], {}
            for name in chunk:
                try:
                    images[name] = png.read_image(files[name])
                except StsSegError as exc:
                    result.failed.append((files[name].name, str(exc)))
            for name, mask in zip(images, predict_images(predictor, spec, list(images.values())), strict=True):
                png.write_mask(tmp / f"{name}.png", mask)
                if overlay:
                    png.write_image(tmp / "overlays" / f"{name}.png", pictures.blend(images[name], mask, alpha))
                result.written.append(name)
            progress(min(start + predictor.batch_size, len(names)), len(names), chunk[-1])
    return result
