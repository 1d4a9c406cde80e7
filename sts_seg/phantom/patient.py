"""One synthetic patient: layout -> anatomy -> bones -> lesions -> table -> CT and PET."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sts_seg.phantom.anatomy import add_table, render_soft_tissue
from sts_seg.phantom.bones import paint_bones
from sts_seg.phantom.ct import render_ct
from sts_seg.phantom.layout import Layout, make_layout
from sts_seg.phantom.lesions import Lesion, place_nodes, place_tumours
from sts_seg.phantom.tissue import TUMOUR_CLASSES
from sts_seg.phantom.uptake import render_pet


@dataclass(frozen=True)
class PhantomSpec:
    """Inclusive ranges of the volume size: ``slices`` (z) and in-plane ``size`` (y and x, drawn
    independently). Defaults mimic the Kaggle file; 8-16 slices of 32-48 px make a tiny test set
    (anatomy is scaled down below 90 px)."""

    slices: tuple[int, int] = (80, 200)
    size: tuple[int, int] = (90, 110)

    def __post_init__(self) -> None:
        for name, (lo, hi), least in (("slices", self.slices, 4), ("size", self.size, 24)):
            if not (least <= lo <= hi):
                raise ValueError(f"PhantomSpec.{name}={(lo, hi)}: need {least} <= low <= high")


@dataclass(frozen=True)
class Patient:
    """A rendered patient: ``ct`` HU int16, ``pet`` SUV float32, ``label`` uint8 (1 = tumour),
    ``tissue`` the uint8 class volume (``Tissue`` values), all ``[z, y, x]``; ``suv_max`` is the
    PET maximum inside the label."""

    ct: np.ndarray
    pet: np.ndarray
    label: np.ndarray
    tissue: np.ndarray
    layout: Layout
    tumours: list[Lesion]
    nodes: list[Lesion]
    suv_max: float


def simulate(rng: np.random.Generator, spec: PhantomSpec = PhantomSpec(), pelvis: bool | None = None) -> Patient:
    """Draw one patient from ``rng`` (the only source of randomness); ``pelvis`` forces whether
    the scan reaches the pelvis (bladder in view; None: drawn)."""
    shape = (
        int(rng.integers(spec.slices[0], spec.slices[1] + 1)),
        int(rng.integers(spec.size[0], spec.size[1] + 1)),
        int(rng.integers(spec.size[0], spec.size[1] + 1)),
    )
    lay = make_layout(rng, shape, pelvis)
    cls = render_soft_tissue(rng, lay)
    paint_bones(rng, lay, cls)
    tumours = place_tumours(rng, lay, cls)
    nodes = place_nodes(rng, lay, cls, tumours)
    add_table(rng, lay, cls)
    ct = render_ct(rng, cls, tumours)
    pet, suv_max = render_pet(rng, cls, tumours, nodes)
    label = np.isin(cls, TUMOUR_CLASSES).astype(np.uint8)
    return Patient(ct, pet, label, cls, lay, tumours, nodes, suv_max)


def make_patient(
    rng: np.random.Generator, spec: PhantomSpec = PhantomSpec()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ct int16 HU, pet float32 SUV, label uint8) each [z, y, x]."""
    p = simulate(rng, spec)
    return p.ct, p.pet, p.label
