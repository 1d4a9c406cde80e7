"""FDG-PET (SUV, float32 ``[z, y, x]``) from the class volume and the lesions.

Background uptake per tissue (fat ~0.3, muscle ~0.7, marrow ~1, blood pool ~1.7), hot
physiologic bladder and bowel, hot nodes, heterogeneous tumour uptake (rim-weighted, cold
necrotic core); then a Gaussian PSF (1.8-2.4 voxels FWHM) and Poisson-like noise whose variance
grows with the local SUV. The tumour uptake is scaled so that the patient's tumour SUVmax
(the maximum of the final PET inside the label) equals a drawn target in ``SUV_RANGE``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from sts_seg.phantom.fields import smooth_noise
from sts_seg.phantom.lesions import Lesion
from sts_seg.phantom.tissue import N_TISSUES, TUMOUR_CLASSES, Tissue

T = Tissue
SUV_RANGE = (3.5, 13.0)  #: tumour SUVmax (after blur and noise)
BLADDER_SUV = (5.0, 30.0)  #: urine activity


def _background(rng: np.random.Generator, cls: np.ndarray) -> np.ndarray:
    """Per-tissue SUV with a mild smooth texture (tumour voxels 0, necrosis cold)."""
    suv = np.zeros(N_TISSUES, np.float32)
    amp = np.zeros(N_TISSUES, np.float32)
    suv[T.FAT], amp[T.FAT] = rng.uniform(0.3, 0.45), 0.1
    suv[T.MUSCLE], amp[T.MUSCLE] = rng.uniform(0.55, 0.9), 0.1
    suv[T.FASCIA], amp[T.FASCIA] = 0.5 * (suv[T.FAT] + suv[T.MUSCLE]), 0.1
    suv[T.CORTEX], amp[T.CORTEX] = rng.uniform(0.2, 0.4), 0.1
    suv[T.MARROW], amp[T.MARROW] = rng.uniform(0.8, 1.3), 0.1
    suv[T.SPONGY], amp[T.SPONGY] = rng.uniform(0.7, 1.2), 0.1
    suv[T.BLADDER], amp[T.BLADDER] = rng.uniform(*BLADDER_SUV), 0.03
    suv[T.BOWEL], amp[T.BOWEL] = rng.uniform(1.5, 4.0), 0.4
    suv[T.VESSEL], amp[T.VESSEL] = rng.uniform(1.4, 2.0), 0.05
    suv[T.NECROSIS], amp[T.NECROSIS] = rng.uniform(0.3, 0.8), 0.2
    texture = smooth_noise(rng, cls.shape, scale=3.0)
    return np.clip(suv[cls] * (1 + amp[cls] * texture), 0, None)


def _tumour_activity(rng: np.random.Generator, shape: tuple[int, ...], tumours: list[Lesion]) -> np.ndarray:
    """Relative viable-tumour uptake (max 1 per tumour times its ``peak``; 0 elsewhere)."""
    act = np.zeros(shape, np.float32)
    for t in tumours:
        necrotic = bool(t.core.any())
        rim_w = rng.uniform(0.6, 1.2) if necrotic else rng.uniform(0.0, 0.5)
        base = rng.uniform(0.25, 0.45) if necrotic else rng.uniform(0.45, 0.7)
        het = rng.uniform(0.25, 0.55)
        rel = (base + rim_w * np.exp(-t.depth / 0.25)) * (1 + het * t.texture)
        rel = np.clip(rel, 0.08, None)
        viable = t.mask & ~t.core
        if not viable.any():
            continue
        rel = rel / rel[viable].max() * t.peak
        sub = act[t.box]
        sub[viable] = np.maximum(sub[viable], rel[viable])
    return act


def _calibrate(a: np.ndarray, b: np.ndarray, n: np.ndarray, gain: float, target: float) -> float:
    """Scale ``k`` so that ``max(pet) == target`` where ``pet = p + sqrt(gain p) n``, ``p = a + k b``
    (label voxels only; bisection, since the maximum grows with ``k``)."""

    def peak(k: float) -> float:
        p = a + k * b
        return float(np.max(p + np.sqrt(gain * p) * n))

    if b.max() <= 0 or peak(0.0) >= target:
        return 0.0
    lo, hi = 0.0, 1.0
    while peak(hi) < target and hi < 1e4:
        hi *= 2
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if peak(mid) < target else (lo, mid)
    return 0.5 * (lo + hi)


def render_pet(
    rng: np.random.Generator, cls: np.ndarray, tumours: list[Lesion], nodes: list[Lesion]
) -> tuple[np.ndarray, float]:
    """``(pet, tumour SUVmax)``: the PET volume (SUV float32) and its maximum inside the label."""
    act = _background(rng, cls)
    for node in nodes:
        act[node.box][node.mask] = node.peak
    tum = _tumour_activity(rng, cls.shape, tumours)
    sigma = rng.uniform(1.8, 2.4) / 2.355
    blur_bg = ndimage.gaussian_filter(act, sigma, mode="nearest")
    blur_t = np.zeros_like(tum)
    if tumours:  # the tumour term is zero outside the tumours' boxes: blur only there
        pad = int(np.ceil(4 * sigma)) + 1
        lo = np.maximum(np.min([[s.start for s in t.box] for t in tumours], axis=0) - pad, 0)
        hi = np.max([[s.stop for s in t.box] for t in tumours], axis=0) + pad
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        blur_t[box] = ndimage.gaussian_filter(tum[box], sigma, mode="constant")
    noise = ndimage.gaussian_filter(rng.standard_normal(cls.shape).astype(np.float32), 0.6)
    noise /= max(float(noise.std()), 1e-6)
    gain = rng.uniform(0.01, 0.03)  # relative noise sqrt(gain) at SUV 1
    label = np.isin(cls, TUMOUR_CLASSES)
    target = float(np.exp(rng.uniform(*np.log(SUV_RANGE))))
    k = _calibrate(blur_bg[label], blur_t[label], noise[label], gain, target)
    p = blur_bg + k * blur_t
    pet = np.clip(p + np.sqrt(gain * np.clip(p, 0, None)) * noise, 0, None).astype(np.float32)
    return pet, float(pet[label].max()) if label.any() else 0.0
