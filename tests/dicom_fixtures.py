"""Tiny DICOM studies written with pydicom: a CT and a PET series and one RTSTRUCT per series.

``write_study(folder)`` writes ``CT/image/*.dcm``, ``PET/image/*.dcm`` and ``{CT,PET}/mask/RS.dcm`` and
returns what it wrote (the HU and the rescaled PET values, UIDs, file paths) so that tests compare
against values they know. Every refusal has a knob: ``drop_slice``, ``duplicate_slice``, ``ct_z``
(any slice offsets), ``tilt_mm``, ``extra_series``, ``with_pet``, ``truncate_slice``, ``pet_overrides``
/ ``drug_overrides`` (a None value deletes the attribute), and the ROIs through ``structs``.
Contours are given per slice in the series' pixel coordinates ``(column i, row j)`` and written in
patient mm, optionally ``z_offset_mm`` off their slice plane.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian, generate_uid

CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"
PET_CLASS = "1.2.840.10008.5.1.4.1.1.128"
RTSTRUCT_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"

#: the default PET header's SUV factor by hand: 70 kg over 370 MBq decayed for the 1 h from injection (11:00) to the
#: series start (12:00, DecayCorrection START) with the F-18 half-life 6586.2 s; SUV = pet_values * this
DEFAULT_SUV_FACTOR = 70.0 * 1000 / (3.7e8 * 2 ** (-3600 / 6586.2))

Contour = tuple[int, np.ndarray]  # slice index k, (n, 2) vertices in pixel coordinates (column i, row j)


def square(k: int, lo: float, hi: float) -> Contour:
    """A square contour on slice ``k`` with corners ``(lo, lo)`` and ``(hi, hi)`` in pixel coordinates."""
    return k, np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]], float)


@dataclass
class StructSpec:
    """One RTSTRUCT: the series it references (``"ct"`` or ``"pet"``), its ROIs and an optional z offset."""

    series: str
    rois: dict[str, list[Contour]]
    z_offset_mm: float = 0.0
    name: str = "RS.dcm"


def _centre_square(shape: tuple[int, int, int]) -> list[Contour]:
    """A square over the middle half of the pixels, on the middle half of the slices."""
    n, side = shape[0], min(shape[1:])
    return [square(k, side // 4 - 0.5, 3 * side // 4 - 0.5) for k in range(n // 4, n // 4 + n // 2)]


def default_structs(
    ct_shape: tuple[int, int, int] = (8, 16, 16), pet_shape: tuple[int, int, int] = (8, 8, 8)
) -> list[StructSpec]:
    """GTV_CT on the CT and GTV_PET on the PET (0.02 mm off its planes): squares over the middle half of the
    pixels on the middle half of the slices; for the default shapes 8x8 CT pixels and 4x4 PET pixels on slices 2-5."""
    return [
        StructSpec("ct", {"GTV_CT": _centre_square(ct_shape)}),
        StructSpec("pet", {"GTV_PET": _centre_square(pet_shape)}, z_offset_mm=0.02),
    ]


@dataclass
class Written:
    """What :func:`write_study` wrote. Arrays are (slice, row, column) in the order slices lie along the normal."""

    folder: Path
    ct_hu: np.ndarray
    pet_values: np.ndarray  # stored value * RescaleSlope: Bq/mL for BQML
    ct_uid: str
    pet_uid: str
    ct_files: list[Path] = field(default_factory=list)
    pet_files: list[Path] = field(default_factory=list)
    structs: dict[str, Path] = field(default_factory=dict)  # "ct"/"pet" -> RTSTRUCT path


def _meta(sop_class: str, sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ImplicitVRLittleEndian
    return meta


def _base(modality: str, sop_class: str, study_uid: str, series_uid: str, frame_uid: str) -> Dataset:
    ds = Dataset()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta = _meta(sop_class, ds.SOPInstanceUID)
    ds.preamble = b"\0" * 128
    ds.SOPClassUID = sop_class
    ds.Modality = modality
    ds.PatientID = "P001"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_uid
    return ds


def _apply(ds: Dataset, overrides: dict[str, object]) -> None:
    for key, value in overrides.items():
        if value is None:
            if key in ds:
                delattr(ds, key)
        else:
            setattr(ds, key, value)


@dataclass
class _Grid:
    origin: np.ndarray
    orientation: tuple[float, ...]
    spacing: tuple[float, float, float]  # dz, dy, dx

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        row, col = np.array(self.orientation[:3], float), np.array(self.orientation[3:], float)
        return row, col, np.cross(row, col)

    def point(self, i: float, j: float, z_offset: float) -> np.ndarray:
        """Patient position (LPS mm) of pixel (i, j) on a slice whose origin lies ``z_offset`` mm along the normal."""
        row, col, normal = self.axes()
        return self.origin + i * self.spacing[2] * row + j * self.spacing[1] * col + z_offset * normal


def _series(
    folder: Path,
    modality: str,
    values: np.ndarray,
    grid: _Grid,
    z: np.ndarray,
    uids: tuple[str, str, str],
    extra: dict,
    names: np.ndarray | None = None,
    slopes: np.ndarray | None = None,
) -> list[Path]:
    """Write one slice per ``z`` offset. CT ``values`` are HU (stored + 1024, intercept -1024); PET values are
    stored as they are, with RescaleSlope ``slopes[k]``. ``names``: the file number of each slice."""
    folder.mkdir(parents=True, exist_ok=True)
    names = np.arange(len(z)) if names is None else names
    ct = modality == "CT"
    stored = values + 1024 if ct else values
    slopes = np.ones(len(z)) if slopes is None else slopes
    paths = []
    sop_class = CT_CLASS if modality == "CT" else PET_CLASS
    for k, dz in enumerate(z):
        ds = _base(modality, sop_class, *uids)
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [float(v) for v in grid.point(extra.get("_tilt", 0.0) * k, 0.0, dz)]
        ds.ImageOrientationPatient = list(grid.orientation)
        ds.PixelSpacing = [grid.spacing[1], grid.spacing[2]]
        ds.SliceThickness = grid.spacing[0]
        ds.Rows, ds.Columns = stored.shape[1:]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = f"{slopes[k]:.10g}", "-1024" if ct else "0"
        ds.PixelData = stored[k].astype("<i2").tobytes()
        _apply(ds, {k2: v for k2, v in extra.items() if not k2.startswith("_")})
        path = folder / f"{names[k]:06d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _pet_header(drug_overrides: dict, pet_overrides: dict) -> dict:
    drug = Dataset()
    drug.RadiopharmaceuticalStartTime = "110000"
    drug.RadionuclideTotalDose = "370000000"
    drug.RadionuclideHalfLife = "6586.2"
    _apply(drug, drug_overrides)
    header = {
        "Units": "BQML",
        "PatientWeight": "70",
        "SeriesTime": "120000",
        "AcquisitionTime": "120000",
        "DecayCorrection": "START",
        "CorrectedImage": ["ATTN", "DECY"],
        "RadiopharmaceuticalInformationSequence": Sequence([drug]),
    }
    header.update(pet_overrides)
    return header


def _rtstruct(
    path: Path, spec: StructSpec, series_uid: str, uids: tuple[str, str, str], grid: _Grid, z: np.ndarray
) -> None:
    ds = _base("RTSTRUCT", RTSTRUCT_CLASS, uids[0], generate_uid(), uids[2])
    series = Dataset()
    series.SeriesInstanceUID = series_uid
    study = Dataset()
    study.ReferencedSOPInstanceUID = uids[0]
    study.RTReferencedSeriesSequence = Sequence([series])
    frame = Dataset()
    frame.FrameOfReferenceUID = uids[2]
    frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    rois, contours = [], []
    for number, (name, polys) in enumerate(spec.rois.items(), start=1):
        roi = Dataset()
        roi.ROINumber, roi.ROIName, roi.ReferencedFrameOfReferenceUID = number, name, uids[2]
        rois.append(roi)
        items = []
        for k, poly in polys:
            c = Dataset()
            image = Dataset()  # an image reference that is not in the series (as in the shared data)
            image.ReferencedSOPClassUID, image.ReferencedSOPInstanceUID = CT_CLASS, generate_uid()
            c.ContourImageSequence = Sequence([image])
            c.ContourGeometricType = "CLOSED_PLANAR"
            pts = [grid.point(i, j, z[k] + spec.z_offset_mm) for i, j in poly]
            c.NumberOfContourPoints = len(pts)
            c.ContourData = [f"{v:.6f}" for p in pts for v in p]
            items.append(c)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ContourSequence = Sequence(items)
        contours.append(item)
    ds.StructureSetROISequence = Sequence(rois)
    ds.ROIContourSequence = Sequence(contours)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def write_study(
    folder: Path,
    *,
    shape: tuple[int, int, int] = (8, 16, 16),
    spacing: tuple[float, float, float] = (3.0, 1.0, 1.0),
    origin: tuple[float, float, float] = (-10.0, -20.0, 100.0),
    orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
    pet_shape: tuple[int, int, int] | None = None,
    pet_spacing: tuple[float, float, float] | None = None,
    ct_z: list[float] | None = None,
    drop_slice: int | None = None,
    duplicate_slice: int | None = None,
    tilt_mm: float = 0.0,
    shuffle: bool = False,
    extra_series: tuple[str, ...] = (),
    with_pet: bool = True,
    truncate_slice: int | None = None,
    pet_overrides: dict | None = None,
    drug_overrides: dict | None = None,
    structs: list[StructSpec] | None = None,
    seed: int = 0,
) -> Written:
    """Write a study under ``folder``; see the module docstring for the knobs. ``tilt_mm``: x shift per CT slice."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    study, frame = generate_uid(), generate_uid()
    ct_grid = _Grid(np.array(origin, float), tuple(orientation), spacing)
    z = np.array(ct_z if ct_z is not None else np.arange(shape[0]) * spacing[0], float)
    hu = rng.integers(-1000, 1500, size=(len(z), *shape[1:])).astype(np.int16)
    keep = [k for k in range(len(z)) if k != drop_slice] + ([duplicate_slice] if duplicate_slice is not None else [])
    ct_uid = generate_uid()
    names = rng.permutation(len(keep)) if shuffle else None
    ct_files = _series(
        folder / "CT" / "image", "CT", hu[keep], ct_grid, z[keep], (study, ct_uid, frame), {"_tilt": tilt_mm}, names
    )
    for extra in extra_series:  # a second series of one modality, on the CT grid
        header = _pet_header({}, {}) if extra != "CT" else {}
        _series(folder / f"{extra}2" / "image", extra, hu, ct_grid, z, (study, generate_uid(), frame), header)
    pet_shape = pet_shape or (shape[0], shape[1] // 2, shape[2] // 2)
    pet_spacing = pet_spacing or (spacing[0], spacing[1] * 2, spacing[2] * 2)
    pet_grid = _Grid(np.array(origin, float), tuple(orientation), pet_spacing)
    pet_z = np.arange(pet_shape[0]) * pet_spacing[0]
    stored = rng.integers(0, 32767, size=pet_shape).astype(np.int16)
    slopes = 0.5 + 0.25 * np.arange(pet_shape[0])  # a different RescaleSlope on every slice
    pet_uid, pet_files = generate_uid(), []
    if with_pet:
        header = _pet_header(drug_overrides or {}, pet_overrides or {})
        names = rng.permutation(len(pet_z)) if shuffle else None
        uids = (study, pet_uid, frame)
        pet_files = _series(folder / "PET" / "image", "PT", stored, pet_grid, pet_z, uids, header, names, slopes)
    paths = {}
    for spec in default_structs((len(z), *shape[1:]), pet_shape) if structs is None else structs:
        grid, zz, uid = (ct_grid, z, ct_uid) if spec.series == "ct" else (pet_grid, pet_z, pet_uid)
        paths[spec.series] = folder / spec.series.upper() / "mask" / spec.name
        _rtstruct(paths[spec.series], spec, uid, (study, uid, frame), grid, zz)
    if truncate_slice is not None:
        f = ct_files[truncate_slice]
        f.write_bytes(f.read_bytes()[:-100])
    return Written(
        folder, hu[keep].astype(np.float64), stored * slopes[:, None, None], ct_uid, pet_uid, ct_files, pet_files, paths
    )
