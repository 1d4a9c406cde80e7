"""NIfTI through nibabel: volumes read as ``[z, y, x]`` in LPS orientation, results written back
with exactly the shape, affine and orientation of a reference image.

nibabel returns arrays in the file's voxel order ``(i, j, k)`` with an affine to RAS+ mm. Reading
reorients the voxels (flips and axis swaps only, no resampling) so that ``i, j, k`` point to
patient Left, Posterior, Superior, and transposes to ``[z, y, x]``: the array order SimpleITK gives
after ``DICOMOrient(image, "LPS")``. Writing undoes both steps and saves with the reference's own
affine and header, so a mask lands voxel for voxel on the reference grid. An image with oblique
axes keeps its nearest orientation (nibabel's ``io_orientation``); the stored affine is untouched.

Every header is checked, raw, before anything is allocated: a claimed size beyond
:data:`MAX_VOXELS` or beyond what the file can hold, a zero or non-finite voxel size (which nibabel
would silently repair to 1 mm) and a singular affine are DataErrors naming the file.
"""

from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel import orientations as orient
from nibabel.processing import resample_from_to

from sts_seg.errors import DataError
from sts_seg.io.atomic import staged_file
from sts_seg.io.reading import reading

LPS = orient.axcodes2ornt(("L", "P", "S"))
SUFFIXES = (".nii.gz", ".nii")
FIX = "re-export it as a 3D NIfTI file"
#: the most voxels one image may claim (8 GiB as float32; a whole-body CT at 1 mm is ~0.3 G)
MAX_VOXELS = 2**31
#: deflate's largest expansion: a .gz file never holds more than about 1032 times its own size
DEFLATE_RATIO = 1032


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
    """A 3D NIfTI image whose header passed the checks; any nibabel error names the file.

    ``voxels`` False reads the header only (voxels on demand); True decompresses a ``.gz`` file
    in one call (about 1.5x faster than nibabel's streamed read, and it releases the GIL).
    """
    path = Path(path)
    gz = path.name.endswith(".gz")
    with reading(path, what, FIX):
        with gzip.open(path) if gz else open(path, "rb") as f:
            head = f.read(540)
        size = path.stat().st_size
    header = raw_header(head)
    if header is not None:  # not NIfTI: nibabel says what it is below
        check_header(path, what, header, size, gz)
    with reading(path, what, FIX):
        if voxels and gz:
            kind = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
            img = kind.from_bytes(gzip.decompress(path.read_bytes()))
        else:
            img = nib.load(str(path))
        affine = np.asarray(img.affine, dtype=np.float64)
    check_affine(path, what, affine)
    if len(img.shape) == 4 and img.shape[3] == 1:
        img = img.slicer[..., 0]
    if len(img.shape) != 3:
        raise DataError(f"{path}: {what} has shape {img.shape}, not 3D; {FIX}")
    return img


def raw_header(head: bytes) -> nib.Nifti1Header | None:
    """The NIfTI-1 or NIfTI-2 header in a file's first bytes, as stored (nibabel's repairs not
    applied); None when ``sizeof_hdr`` says it is neither."""
    for kind in (nib.Nifti1Header, nib.Nifti2Header):
        n = kind.template_dtype.itemsize  # 348 or 540 bytes
        if len(head) >= n and n in (int.from_bytes(head[:4], "little"), int.from_bytes(head[:4], "big")):
            return kind(head[:n], check=False)
    return None


def _memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_header(path: Path, what: str, header: nib.Nifti1Header, size: int, gz: bool) -> None:
    """Refuse a header whose claimed volume is too large for :data:`MAX_VOXELS`, this machine's
    memory (as float32) or the file's ``size`` in bytes, or whose spatial ``pixdim`` is 0 or not
    finite; nothing is allocated. A header nibabel cannot parse is left to nibabel."""
    ndim = int(header["dim"][0])
    if not 1 <= ndim <= 7:
        return
    dims = [int(d) for d in header["dim"][1 : ndim + 1]]
    voxels = math.prod(max(d, 0) for d in dims)
    claim = f"the {what} header claims a {' x '.join(map(str, dims))} volume ({voxels:.3g} voxels)"
    if voxels > MAX_VOXELS:
        raise DataError(f"{path}: {claim}, more than {MAX_VOXELS:.3g}; its header is corrupt, or crop the image")
    memory = _memory()
    if memory is not None and 4 * voxels > memory:
        raise DataError(f"{path}: {claim}, {4 * voxels / 2**30:.1f} GiB as float32, more than this machine's memory")
    try:
        stored = voxels * header.get_data_dtype().itemsize + int(header["vox_offset"])
    except KeyError:  # an unknown datatype code: nibabel names it when loading
        return
    room = DEFLATE_RATIO * size if gz else size
    if stored > room:
        holds = f"a {size}-byte gzip file holds at most {room}" if gz else f"the file has {size}"
        raise DataError(f"{path}: {claim}, {stored} bytes, but {holds}; the file is truncated or its header corrupt")
    for axis in range(1, min(ndim, 3) + 1):
        v = float(header["pixdim"][axis])
        if v == 0 or not math.isfinite(v):
            raise DataError(
                f"{path}: the {what} voxel size along axis {'ijk'[axis - 1]} (pixdim[{axis}]) is {v} in the header "
                "(nibabel would silently take 1 mm); write the true voxel sizes into the header"
            )


def check_affine(path: Path, what: str, affine: np.ndarray) -> None:
    """Refuse an affine (sform or qform) that is not finite or whose 3x3 part is singular: such a
    file has no orientation or voxel size."""
    finite = bool(np.isfinite(affine).all())
    s = np.linalg.svd(affine[:3, :3], compute_uv=False) if finite else np.zeros(3)
    if not finite or s[0] == 0 or s[-1] <= 1e-6 * s[0]:
        rows = "; ".join(" ".join(f"{v:g}" for v in row) for row in affine[:3])
        raise DataError(
            f"{path}: the {what} affine [{rows}] is {'singular' if finite else 'not finite'}; "
            "it gives no orientation or voxel size, re-export the file with a valid sform/qform"
        )


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
