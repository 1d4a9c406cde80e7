"""CT (Hounsfield units, int16 ``[z, y, x]``) from the class volume and the lesions.

Per-tissue HU with smooth texture: air -1000, fat about -100, muscle 40-55, cortical bone
1000-1500, fatty marrow -40..60, cancellous bone 150-300, urine 0-15, bowel with gas pockets.
Sarcomas are only a few tens of HU from muscle (20-60 HU, heterogeneous), necrosis 10-25 HU.
Then a slight in-plane blur (partial volume) and Gaussian noise (10-20 HU).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from sts_seg.phantom.fields import smooth_noise
from sts_seg.phantom.lesions import Lesion
from sts_seg.phantom.tissue import N_TISSUES, Tissue

T = Tissue
HU_MIN, HU_MAX = -1024, 3071


def _tables(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mean HU and texture amplitude (HU) per tissue class for one patient."""
    hu = np.zeros(N_TISSUES, np.float32)
    amp = np.zeros(N_TISSUES, np.float32)
    hu[T.AIR] = -1000.0
    hu[T.FAT], amp[T.FAT] = rng.uniform(-115, -85), 6
    hu[T.MUSCLE], amp[T.MUSCLE] = rng.uniform(40, 55), 4
    hu[T.FASCIA], amp[T.FASCIA] = 0.5 * (hu[T.FAT] + hu[T.MUSCLE]), 10
    hu[T.CORTEX], amp[T.CORTEX] = rng.uniform(1000, 1500), 80
    hu[T.MARROW], amp[T.MARROW] = rng.uniform(-40, 60), 20
    hu[T.SPONGY], amp[T.SPONGY] = rng.uniform(150, 300), 40
    hu[T.BLADDER], amp[T.BLADDER] = rng.uniform(0, 15), 2
    hu[T.BOWEL], amp[T.BOWEL] = rng.uniform(-40, 30), 40
    hu[T.VESSEL], amp[T.VESSEL] = rng.uniform(35, 50), 3
    hu[T.TABLE], amp[T.TABLE] = rng.uniform(50, 250), 20
    hu[T.NODE], amp[T.NODE] = rng.uniform(25, 45), 5
    hu[T.TUMOUR], amp[T.TUMOUR] = np.clip(hu[T.MUSCLE] + rng.uniform(-25, 5), 20, 60), 3
    hu[T.NECROSIS], amp[T.NECROSIS] = rng.uniform(10, 25), 3
    return hu, amp


def render_ct(rng: np.random.Generator, cls: np.ndarray, tumours: list[Lesion]) -> np.ndarray:
    """The CT volume in HU (int16, clipped to -1024..3071)."""
    hu, amp = _tables(rng)
    texture = smooth_noise(rng, cls.shape, scale=2.0)
    ct = hu[cls] + amp[cls] * texture
    bowel = cls == T.BOWEL
    if bowel.any():  # gas pockets inside bowel loops
        box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in np.nonzero(bowel))
        gas = bowel[box] & (smooth_noise(rng, bowel[box].shape, scale=1.5) > 1.0)
        ct[box][gas] = rng.uniform(-800, -400)
    for t in tumours:  # heterogeneous viable tumour: +-8 HU following its own texture
        sub = ct[t.box]
        viable = t.mask & ~t.core
        sub[viable] += rng.uniform(4, 9) * t.texture[viable]
    ct = ndimage.gaussian_filter(ct, (0.3, 0.5, 0.5), mode="nearest")
    ct += rng.normal(0.0, rng.uniform(10, 20), size=ct.shape).astype(np.float32)
    return np.clip(np.rint(ct), HU_MIN, HU_MAX).astype(np.int16)
