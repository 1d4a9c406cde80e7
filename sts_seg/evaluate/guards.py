"""Refuse evaluations that would report leaked numbers (the original's 0.9977)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sts_seg.augment.ops import is_augmented_name
from sts_seg.errors import DataError
from sts_seg.io.layout import list_images
from sts_seg.io.reading import read_json
from sts_seg.modelsource import REPORT, ModelSource


def patient_of(name: str) -> str:
    """``STS_005_110`` -> ``STS_005`` (the part before the last underscore)."""
    return name.rsplit("_", 1)[0]


def shown(items: Iterable[str], n: int = 5) -> str:
    items = sorted(items)
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def check_no_leakage(
    dataset: Path, split: str, names: list[str], patients: set[str], train: set[str] | None = None
) -> None:
    """Raise DataError if ``split`` holds augmented copies or shares a patient with train
    (``train``: the manifest's train patients, when there is a manifest)."""
    augmented = [n for n in names if is_augmented_name(n)]
    if augmented:
        raise DataError(
            f"{Path(dataset) / split}: holds {len(augmented)} augmented file(s) ({shown(augmented)}); "
            "evaluate on un-augmented slices of held-out patients (re-run 'stsseg prepare')"
        )
    train_patients: set[str] = set(train or ())
    split_json = Path(dataset) / "split.json"
    if split_json.is_file():
        train_patients |= set(read_json(split_json, "split file", "re-run 'stsseg prepare'").get("train", []))
    images_dir = Path(dataset) / "train" / "images"
    if split != "train" and images_dir.is_dir() and train is None:
        train_patients |= {patient_of(n) for n in list_images(images_dir) if not is_augmented_name(n)}
    shared = patients & train_patients if split != "train" else set()
    if shared:
        raise DataError(
            f"{dataset}: patient(s) {shown(shared)} appear in both train and {split}; "
            "split by patient (stsseg prepare does) before evaluating"
        )


def check_unseen_by_cv(model: ModelSource, patients: set[str]) -> None:
    """Raise DataError if ``model`` is a cv folder whose folds trained on any of ``patients``
    (its ensemble has seen them; their honest score is the out-of-fold one in ``cv/``)."""
    shared = patients & model.seen_patients
    if shared:
        raise DataError(
            f"{model.path}: the fold ensemble trained on patient(s) {shown(shared)}; their out-of-fold scores are "
            f"in {Path(model.path) / REPORT / 'per_patient.csv'}; evaluate the ensemble on patients the cv never saw"
        )
