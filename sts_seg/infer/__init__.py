"""``stsseg infer``: masks for a folder of images (``infer.input``), or, for every case of the
source (``data.source``), a mask on the case's own grid. :func:`infer` is the one entry point; the
model (:func:`sts_seg.modelsource.open_model`) is used with the spec it was trained with (its
``stsseg.json``) and the post-processing :func:`~sts_seg.modelsource.resolve_postprocess` decides."""

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
    """``folder``: the folder-mode result; ``volumes``: ``{case: shape}`` of volume mode."""

    mode: str
    output: Path
    folder: FolderResult | None = None
    volumes: dict[str, tuple[int, int, int]] | None = None
    layout: str | None = None
    notes: list[str] | None = None


def model_path(cfg: Config) -> Path:
    """``infer.model`` (a ``.keras`` file, a run, cv or export folder), or ``<train.run_dir>/best.keras``."""
    return Path(cfg.infer.model or Path(cfg.train.run_dir) / "best.keras")


def infer(*, cfg: Config, force: bool = False, progress: ProgressFn = no_progress) -> InferResult:
    """Folder mode when ``infer.input`` is set, otherwise volume mode on ``data.source``."""
    from sts_seg.infer.folder import infer_folder
    from sts_seg.infer.loading import load_predictor
    from sts_seg.infer.shards import shard_of
    from sts_seg.infer.volumes import VolumeSettings, infer_source
    from sts_seg.modelsource import open_model, resolve_postprocess
    from sts_seg.prepare import source_for

    ic = cfg.infer
    if ic.output is None:
        raise ConfigError("--output is required (a folder for the masks)")
    if ic.input is None and cfg.data.source is None:
        raise ConfigError("give --input DIR (a folder of images) or --source PATH (volumes: HDF5 or NIfTI cases)")
    source = source_for(cfg) if ic.input is None else None
    model = open_model(model_path(cfg))
    predictor, spec, card = load_predictor(model, cfg, ic.batch_size, ic.tta)
    if ic.input is not None:
        res = infer_folder(
            predictor, spec, ic.input, ic.output, overlay=ic.overlay, alpha=ic.overlay_alpha, force=force,
            progress=progress, shard=ic.shard,
        )  # fmt: skip
        return InferResult("folder", Path(ic.output), folder=res)
    pp = resolve_postprocess(cfg.postprocess, model)
    settings = VolumeSettings(spec, card.policy if card else "native", pp.settings)
    cases = shard_of(ic.cases or [i.case_id for i in source.infos()], ic.shard)
    shapes = infer_source(
        predictor, source, Path(ic.output), settings=settings, cases=cases, nifti_copies=ic.nifti, force=force,
        progress=progress,
    )  # fmt: skip
    notes = [*source.notes, *([pp.note] if pp.note else [])]  # source notes: ignored files, misaligned PET/CT
    return InferResult("volumes", Path(ic.output), volumes=shapes, layout=source.layout, notes=notes)
