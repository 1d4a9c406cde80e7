"""Tissue classes of the phantom's class volume (uint8 ``[z, y, x]``); CT and PET are rendered
from it by lookup tables. Only ``TUMOUR`` and ``NECROSIS`` are labelled as tumour."""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Tissue(IntEnum):
    AIR = 0
    FAT = 1  #: subcutaneous, intermuscular and pelvic (visceral) fat
    MUSCLE = 2
    FASCIA = 3  #: thin intermuscular fat planes (partial volume: between fat and muscle)
    CORTEX = 4  #: cortical bone
    MARROW = 5  #: fatty (yellow) marrow of long-bone shafts
    SPONGY = 6  #: cancellous bone of epiphyses and pelvis
    BLADDER = 7  #: urine: water on CT, very hot on FDG-PET
    BOWEL = 8  #: bowel loops / rectum: mixed gas and contents, moderate uptake
    VESSEL = 9  #: femoral vessels: blood pool
    TABLE = 10  #: scanner table (outside the body)
    NODE = 11  #: lymph node, hot on PET, not tumour
    TUMOUR = 12  #: viable sarcoma
    NECROSIS = 13  #: necrotic core of a sarcoma (cold on PET, labelled as tumour)


N_TISSUES = len(Tissue)
SOFT = (Tissue.FAT, Tissue.MUSCLE, Tissue.FASCIA, Tissue.VESSEL)
TUMOUR_CLASSES = (Tissue.TUMOUR, Tissue.NECROSIS)


def allow(*tissues: Tissue) -> np.ndarray:
    """Boolean lookup table over class values: True for ``tissues`` (``table[cls]`` gives a mask)."""
    table = np.zeros(N_TISSUES, dtype=bool)
    table[list(tissues)] = True
    return table


def inside_body() -> np.ndarray:
    """Lookup table: every class except air and the table."""
    return ~allow(Tissue.AIR, Tissue.TABLE)
