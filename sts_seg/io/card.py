"""``stsseg.json``: what travels with a trained model, so that it is used exactly as it was
trained: how a case becomes model input (:class:`~sts_seg.core.slicing.SliceSpec`), the voxel
spacing, the post-processing, the class count, and its provenance (config hash, versions).

``train`` writes it into the run folder next to ``best.keras``; ``infer`` and ``evaluate`` read it
from beside the model they are given; ``export`` copies it next to the exported network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sts_seg.core.slicing import SliceSpec
from sts_seg.errors import DataError
from sts_seg.io.reading import read_json
from sts_seg.io.tables import write_json

CARD = "stsseg.json"
FORMAT = "stsseg-model/1"


@dataclass(frozen=True)
class ModelCard:
    """``spec``: input mapping; ``num_classes``; ``spacing_policy``: the grid slices are cut from
    (``"native"``, or ``[z, y, x]`` mm where null keeps a case's own spacing on that axis);
    ``spacing_mm``: the spacing assumed for sources that store none (the Kaggle HDF5);
    ``postprocess``: keyword settings of :func:`~sts_seg.core.postprocess.postprocess`."""

    spec: SliceSpec
    num_classes: int
    spacing_mm: tuple[float, float, float]
    postprocess: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    spacing_policy: Any = "native"

    @property
    def policy(self) -> Any:
        """The spacing policy as :func:`~sts_seg.prepare.plan.spacing_for` takes it."""
        return self.spacing_policy if self.spacing_policy == "native" else tuple(self.spacing_policy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "slice_spec": self.spec.to_dict(),
            "num_classes": self.num_classes,
            "classes": {"0": "background", "1": "tumour"} if self.num_classes == 2 else {},
            "spacing_mm": list(self.spacing_mm),
            "spacing_policy": self.spacing_policy if self.spacing_policy == "native" else list(self.spacing_policy),
            "postprocess": self.postprocess,
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelCard:
        return cls(
            SliceSpec.from_dict(d["slice_spec"]),
            int(d["num_classes"]),
            tuple(float(s) for s in d["spacing_mm"]),  # type: ignore[arg-type]
            dict(d.get("postprocess") or {}),
            dict(d.get("provenance") or {}),
            d.get("spacing_policy", "native"),
        )


def write_card(folder: Path, card: ModelCard) -> Path:
    path = Path(folder) / CARD
    write_json(path, card.to_dict())
    return path


def read_card(path: Path) -> ModelCard:
    """A card file; a damaged one is a DataError naming it."""
    d = read_json(path, "model card", "re-run 'stsseg train' or 'stsseg export'")
    try:
        if d.get("format") != FORMAT:
            raise ValueError(f"format {d.get('format')!r}, expected {FORMAT!r}")
        return ModelCard.from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{path}: not a stsseg model card ({exc}); re-run 'stsseg train' or 'stsseg export'") from None


def card_beside(model_path: Path) -> ModelCard | None:
    """The card in the model's folder (``<folder>/stsseg.json``), if there is one."""
    path = Path(model_path).parent / CARD
    return read_card(path) if path.is_file() else None
