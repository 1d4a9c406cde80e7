"""A minimal NIfTI-1 writer (``.nii.gz``) for label volumes, so 3D Slicer / ITK-SNAP open them.

Arrays are ``[z, y, x]`` (C order), which is NIfTI's ``(x, y, z)`` Fortran order byte for byte.
The affine is a plain scaling by the voxel spacing (no orientation is known for the HDF5 file).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from sts_seg.io.atomic import staged_file


def nifti_bytes(volume: np.ndarray, spacing_zyx: tuple[float, float, float]) -> bytes:
    """Header (348 bytes) + 4 bytes extension flag + uint8 voxel data."""
    vol = np.ascontiguousarray(volume, dtype=np.uint8)
    z, y, x = vol.shape
    sz, sy, sx = (float(s) for s in spacing_zyx)
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, x, y, z, 1, 1, 1, 1)
    struct.pack_into("<hh", hdr, 70, 2, 8)  # datatype uint8, bitpix 8
    struct.pack_into("<8f", hdr, 76, 1.0, sx, sy, sz, 0, 0, 0, 0)
    struct.pack_into("<f", hdr, 108, 352.0)  # vox_offset
    struct.pack_into("<ff", hdr, 112, 1.0, 0.0)  # scl_slope, scl_inter
    hdr[123] = 2  # xyzt_units: mm
    struct.pack_into("<hh", hdr, 252, 0, 1)  # qform_code 0, sform_code 1 (scanner)
    struct.pack_into("<4f", hdr, 280, sx, 0, 0, 0)
    struct.pack_into("<4f", hdr, 296, 0, sy, 0, 0)
    struct.pack_into("<4f", hdr, 312, 0, 0, sz, 0)
    hdr[344:348] = b"n+1\x00"
    return bytes(hdr) + b"\x00" * 4 + vol.tobytes(order="C")


def write_nifti(path: Path, volume: np.ndarray, spacing_zyx: tuple[float, float, float]) -> None:
    """Write ``volume`` ``[z, y, x]`` as gzip NIfTI-1, atomically."""
    with staged_file(Path(path)) as tmp:
        tmp.write_bytes(gzip.compress(nifti_bytes(volume, spacing_zyx), compresslevel=6))


def read_nifti(path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Read back what :func:`write_nifti` wrote: ``([z, y, x] uint8, spacing_zyx)``."""
    raw = gzip.decompress(Path(path).read_bytes())
    _, x, y, z = struct.unpack_from("<4h", raw, 40)
    sx, sy, sz = struct.unpack_from("<3f", raw, 80)
    off = int(struct.unpack_from("<f", raw, 108)[0])
    return np.frombuffer(raw, np.uint8, count=x * y * z, offset=off).reshape(z, y, x), (sz, sy, sx)
