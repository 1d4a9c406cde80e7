"""NIfTI through nibabel: volumes read as ``[z, y, x]`` in LPS orientation, results written back
with exactly the shape, affine and orientation of a reference image.

nibabel returns arrays in the file's voxel order ``(i, j, k)`` with an affine to RAS+ mm. Reading
reorients the voxels (flips and axis swaps only, no resampling) so that ``i, j, k`` point to
patient Left, Posterior, Superior, and transposes to ``[z, y, x]``: the array order SimpleITK gives
after ``DICOMOrient(image, "LPS")``. Writing undoes both steps and saves with the reference's own
affine and header, so a mask lands voxel for voxel on the reference grid. An image with oblique
axes keeps its nearest orientation (nibabel's ``io_orientation``); the stored affine is untouched.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel import orientations as orient
from nibabel.processing import resample_from_to

from sts_seg.io.atomic import staged_file
from sts_seg.io.reading import reading

LPS = orient.axcodes2ornt(("L", "P", "S"))
SUFFIXES = (".nii.gz", ".nii")


@dataclass(frozen=True)
class Grid:
    """A reference image's geometry: its path, voxel shape ``(i, j, k)`` and affine (to RAS+ mm)."""

    path: Path
    shape: tuple[int, int, int]
    affine: np.ndarray

    @property
    def to_lps(self) -> np.ndarray:
        """The orientation transform from the file's voxel axes to L, P, S."""
        return orient.ornt_transform(orient.io_orientation(self.affine), LPS)

    def lps(self) -> nib.Nifti1Image:
        """An empty image on this grid, reoriented to LPS (its shape and affine)."""
        return nib.Nifti1Image(np.zeros(self.shape, np.uint8), self.affine).as_reoriented(self.to_lps)

    @property
    def spacing_zyx(self) -> tuple[float, float, float]:
        """Voxel spacing in mm along the ``[z, y, x]`` axes of the LPS array."""
        sx, sy, sz = (float(v) for v in self.lps().header.get_zooms()[:3])
        return sz, sy, sx

    @property
    def shape_zyx(self) -> tuple[int, int, int]:
        """``[z, y, x]`` shape of the LPS array."""
        x, y, z = self.lps().shape[:3]
        return int(z), int(y), int(x)


def load(path: Path, what: str = "NIfTI image", voxels: bool = False) -> nib.Nifti1Image:
    """A 3D NIfTI image; any nibabel error names the file.

    ``voxels`` False reads the header only (voxels on demand); True decompresses a ``.gz`` file
    in one call (about 1.5x faster than nibabel's streamed read, and it releases the GIL).
    """
    with reading(path, what, "re-export it as a 3D NIfTI file"):
        if voxels and str(path).endswith(".gz"):
            img = nib.Nifti1Image.from_bytes(gzip.decompress(Path(path).read_bytes()))
        else:
            img = nib.load(str(path))
        if len(img.shape) == 4 and img.shape[3] == 1:
            img = img.slicer[..., 0]
        if len(img.shape) != 3:
            raise ValueError(f"shape {img.shape} is not 3D")
        return img


def grid_of(img: nib.Nifti1Image, path: Path) -> Grid:
    return Grid(Path(path), tuple(int(n) for n in img.shape[:3]), np.asarray(img.affine, dtype=np.float64))  # type: ignore[arg-type]


def to_zyx(img: nib.Nifti1Image, path: Path, dtype: type | None = np.float32) -> np.ndarray:
    """The voxels as ``[z, y, x]`` in LPS orientation, as ``dtype`` (None: as stored, scaled)."""
    with reading(path, "NIfTI voxels", "re-export it"):
        stored = np.asanyarray(img.dataobj)  # scaled by the header's slope/intercept when set
        lps = orient.apply_orientation(stored, grid_of(img, path).to_lps)  # flips and swaps: views
        return np.ascontiguousarray(lps.transpose(2, 1, 0), dtype=dtype)  # one copy, converted


def resampled_onto(img: nib.Nifti1Image, reference: nib.Nifti1Image, path: Path, order: int = 1) -> nib.Nifti1Image:
    """``img`` resampled onto ``reference``'s voxel grid through both affines (world mm)."""
    with reading(path, "NIfTI image to resample", "check its affine"):
        return resample_from_to(img, reference, order=order, mode="nearest")


def same_grid(a: Grid, b: Grid, tol: float = 1e-3) -> bool:
    """Same voxel shape and (within ``tol`` mm) the same affine."""
    return a.shape == b.shape and bool(np.allclose(a.affine, b.affine, atol=tol))


def write_like(path: Path, volume_zyx: np.ndarray, grid: Grid, dtype: type = np.uint8) -> None:
    """Write an LPS ``[z, y, x]`` volume on ``grid`` (the reference's shape, affine, orientation)."""
    lps_ref = grid.lps()
    xyz = np.asarray(volume_zyx).transpose(2, 1, 0)
    if xyz.shape != lps_ref.shape[:3]:
        raise ValueError(f"volume {tuple(volume_zyx.shape)} does not fit the reference {grid.path} {grid.shape_zyx}")
    back = orient.ornt_transform(LPS, orient.io_orientation(grid.affine))
    data = np.asarray(nib.Nifti1Image(xyz.astype(dtype), lps_ref.affine).as_reoriented(back).dataobj).astype(dtype)
    img = nib.Nifti1Image(data, grid.affine)
    img.set_qform(grid.affine, code=1)
    img.set_sform(grid.affine, code=1)
    img.header.set_xyzt_units("mm")
    with staged_file(Path(path)) as tmp:
        nib.save(img, str(tmp))


def spacing_affine(spacing_zyx: tuple[float, float, float]) -> np.ndarray:
    """An LPS-array affine for a volume that has only a spacing (the Kaggle HDF5): voxel
    ``(i, j, k)`` = ``(x, y, z)`` of the ``[z, y, x]`` array, axes along L, P, S."""
    sz, sy, sx = spacing_zyx
    return np.diag([-sx, -sy, sz, 1.0])  # RAS+ world: L = -R, P = -A


def write_zyx(path: Path, volume_zyx: np.ndarray, spacing_zyx: tuple[float, float, float], dtype: type) -> None:
    """Write a ``[z, y, x]`` volume that has no reference image, with :func:`spacing_affine`."""
    arr = np.asarray(volume_zyx)
    grid = Grid(Path(path), (arr.shape[2], arr.shape[1], arr.shape[0]), spacing_affine(spacing_zyx))
    write_like(path, arr, grid, dtype)


def read_zyx(path: Path) -> tuple[np.ndarray, Grid]:
    """A NIfTI file as an LPS ``[z, y, x]`` array and its grid (e.g. a predicted mask)."""
    img = load(path, voxels=True)
    return to_zyx(img, path, np.float32), grid_of(img, path)
