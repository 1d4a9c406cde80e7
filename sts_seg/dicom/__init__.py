"""DICOM case folders: a CT and a PET series (sorted, checked, in HU and SUV) and RTSTRUCT ROIs as masks.

pydicom is an optional extra (``pip install 'stsseg[dicom]'``); it is imported only when a file is
read. Images and masks come back as nibabel ``Nifti1Image`` objects with a RAS+ affine and voxels
(column, row, slice), ready for :mod:`sts_seg.io.nifti` (``grid_of``, ``to_zyx``, ``resampled_onto``).
"""

from sts_seg.dicom.rtstruct import read_roi, select_roi
from sts_seg.dicom.series import SeriesInfo, read_series, stack_geometry
from sts_seg.dicom.study import StructInfo, StudyIndex, index_study
from sts_seg.dicom.suv import PetHeader, suv_factor

__all__ = [
    "PetHeader",
    "SeriesInfo",
    "StructInfo",
    "StudyIndex",
    "index_study",
    "read_roi",
    "read_series",
    "select_roi",
    "stack_geometry",
    "suv_factor",
]
