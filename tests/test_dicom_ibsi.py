"""stsseg's DICOM reading against the IBSI's own NIfTI conversion (MIRP) of the same 6 patients, loaded with nibabel.

Needs ``../shared/data/sts_ibsi`` (skipped where it is absent). Each case prints its agreement figures
(run with ``-s``): max |HU difference|, max relative SUV difference, mask Dice and volume difference on each grid.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

pytest.importorskip("pydicom")

from sts_seg.dicom import index_study, read_roi, read_series

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sts_ibsi"
CASES = ["STS_004", "STS_005", "STS_010", "STS_023", "STS_025", "STS_040"]

pytestmark = pytest.mark.skipif(not (DATA / "dicom").is_dir(), reason=f"the IBSI STS data is not at {DATA}")


def corners(img: nib.Nifti1Image) -> np.ndarray:
    """World (RAS mm) positions of the first and the last voxel."""
    return nib.affines.apply_affine(img.affine, np.array([[0, 0, 0], np.array(img.shape[:3]) - 1]))


@pytest.mark.slow  # reads 12 real series and their NIfTI twins: about 5-10 s
@pytest.mark.parametrize("case", CASES)
def test_dicom_matches_the_ibsi_nifti(case):
    index = index_study(DATA / "dicom" / case, case)
    figures = [case]
    for reference, name in (("ct", "CT"), ("pet", "PET")):
        ours = read_series(index.series(reference), case)
        ref = nib.load(DATA / "nifti" / case / f"{name}_image.nii.gz")
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours.affine, ref.affine, atol=0.01)
        np.testing.assert_allclose(corners(ours), corners(ref), atol=0.01)
        a, b = np.asarray(ours.dataobj, np.float64), np.asarray(ref.dataobj, np.float64)
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)
        if reference == "ct":
            assert np.array_equal(a, b)  # int16 * 1 + 0: bit for bit
            figures.append(f"max|dHU| {np.abs(a - b).max():.3g}")
        else:
            rel = np.abs(a - b)[b != 0] / np.abs(b[b != 0])
            figures.append(f"max rel dSUV {rel.max():.2e}")

        mask, roi = read_roi(index, reference, None, case)
        m = np.asarray(mask.dataobj) > 0
        r = np.asarray(nib.load(DATA / "nifti" / case / f"{name}_mask.nii.gz").dataobj) > 0
        dice = 2 * (m & r).sum() / (m.sum() + r.sum())
        volume = 100 * (int(m.sum()) - int(r.sum())) / r.sum()
        figures.append(f"{roi} Dice {dice:.4f} dV {volume:+.2f}% ({m.sum()} voxels)")
        assert dice >= 0.97
        assert abs(volume) <= 2.0
    print(" | ".join(figures))
