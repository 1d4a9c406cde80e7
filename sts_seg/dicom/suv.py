"""Body-weight SUV from a PET header: pure functions on plain values, and a thin adapter from pydicom.

SUV = value * weight [g] / decayed dose [Bq], for values in Bq/mL (``Units`` BQML). The dose is decayed
from the injection (``RadiopharmaceuticalStartTime``) to the time the values are corrected to:

- ``DecayCorrection`` ADMIN: the values are already decay-corrected to the injection, no decay;
- START: corrected to the series start, decay from the injection to ``SeriesTime`` (else ``AcquisitionTime``);
- NONE, or a ``CorrectedImage`` without DECY: not corrected, decay to this slice's ``AcquisitionTime``.

Only times of day are used, never dates (de-identification shifts dates; an injection "the next day"
is common): a scan time before the injection time is taken as after midnight. Values already in SUV
(``Units`` GML) are kept; any other unit (CNTS, ...) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sts_seg.dicom.headers import number, text
from sts_seg.errors import DataError

DAY_S = 86400.0


@dataclass(frozen=True)
class PetHeader:
    """The header values SUV needs; None where the attribute is absent. Times are DICOM TM strings."""

    units: str | None
    weight_kg: float | None = None
    dose_bq: float | None = None
    half_life_s: float | None = None
    injection_time: str | None = None
    series_time: str | None = None
    acquisition_time: str | None = None
    decay_correction: str | None = None
    corrected_image: tuple[str, ...] | None = None


def tm_seconds(tm: str) -> float:
    """Seconds since midnight of a DICOM TM value (``HHMMSS.FFFFFF``, ``HHMM``, ``HH``, or ``HH:MM:SS``)."""
    s = tm.strip().replace(":", "")
    if len(s) < 2 or not s[:2].isdigit():
        raise ValueError(f"{tm!r} is not a DICOM time (HHMMSS.FFFFFF)")
    hours, minutes = int(s[:2]), int(s[2:4] or 0)
    seconds = float(s[4:] or 0)
    if hours > 23 or minutes > 59 or seconds >= 61:
        raise ValueError(f"{tm!r} is not a DICOM time (HHMMSS.FFFFFF)")
    return hours * 3600.0 + minutes * 60.0 + seconds


def elapsed_s(start_tm: str, end_tm: str) -> float:
    """Seconds from ``start_tm`` to ``end_tm`` (times of day; an end before the start is on the next day)."""
    return (tm_seconds(end_tm) - tm_seconds(start_tm)) % DAY_S


def decayed(dose_bq: float, seconds: float, half_life_s: float) -> float:
    """The activity left of ``dose_bq`` after ``seconds``: ``dose * 2 ** (-seconds / half_life)``."""
    return dose_bq * 2.0 ** (-seconds / half_life_s)


def _required(value: Any, attribute: str, where: str) -> Any:
    if value is None or (isinstance(value, float) and value <= 0):
        raise DataError(
            f"{where}: {attribute} is missing or not positive, so SUV cannot be computed; add it to the header"
        )
    return value


def _decay_time(h: PetHeader, where: str) -> str | None:
    """The time of day the values are decay-corrected to; None if corrected to the injection."""
    dc = (h.decay_correction or "").upper()
    corrected = None if h.corrected_image is None else "DECY" in h.corrected_image
    if corrected is False and dc in ("START", "ADMIN"):
        raise DataError(
            f"{where}: CorrectedImage lacks DECY but DecayCorrection is {dc}; the header contradicts itself"
        )
    if corrected is True and dc in ("", "NONE"):
        raise DataError(f"{where}: CorrectedImage has DECY but DecayCorrection (0054,1102) is {dc or 'missing'}")
    if dc == "ADMIN":
        return None
    if dc == "START":
        return _required(h.series_time or h.acquisition_time, "SeriesTime (0008,0031)", where)
    if dc in ("", "NONE"):
        return _required(h.acquisition_time or h.series_time, "AcquisitionTime (0008,0032)", where)
    raise DataError(f"{where}: DecayCorrection {dc} is not START, ADMIN or NONE; SUV cannot be computed")


def suv_factor(h: PetHeader, where: str) -> float:
    """The factor from the (rescaled) stored values to body-weight SUV; ``where`` names the series."""
    units = (h.units or "").upper()
    if units == "GML":
        return 1.0
    if units != "BQML":
        raise DataError(
            f"{where}: PET Units (0054,1001) is {units or 'missing'}; only BQML (converted to SUV) "
            "or GML (already SUV) can be read: export the PET in Bq/mL"
        )
    weight = _required(h.weight_kg, "PatientWeight (0010,1030)", where)
    dose = _required(h.dose_bq, "RadionuclideTotalDose (0018,1074)", where)
    at = _decay_time(h, where)
    if at is not None:
        half_life = _required(h.half_life_s, "RadionuclideHalfLife (0018,1075)", where)
        start = _required(h.injection_time, "RadiopharmaceuticalStartTime (0018,1072)", where)
        try:
            dose = decayed(dose, elapsed_s(start, at), half_life)
        except ValueError as e:
            raise DataError(f"{where}: {e}") from None
    return weight * 1000.0 / dose


def _injection_time(drug: Any) -> str | None:
    tm = text(drug, "RadiopharmaceuticalStartTime")
    if tm is None and (dt := text(drug, "RadiopharmaceuticalStartDateTime")) is not None:
        tm = dt[8:].split("+")[0].split("-")[0] or None  # YYYYMMDD HHMMSS.FFFFFF &ZZXX: the time part
    return tm


def pet_header(ds: Any) -> PetHeader:
    """The SUV attributes of a pydicom PET Dataset (the first RadiopharmaceuticalInformationSequence item)."""
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    drug = seq[0] if seq else {}
    corrected = ds.get("CorrectedImage")
    if corrected is not None:
        corrected = tuple(str(v).upper() for v in ([corrected] if isinstance(corrected, str) else corrected))
    return PetHeader(
        units=text(ds, "Units"),
        weight_kg=number(ds, "PatientWeight"),
        dose_bq=number(drug, "RadionuclideTotalDose"),
        half_life_s=number(drug, "RadionuclideHalfLife"),
        injection_time=_injection_time(drug),
        series_time=text(ds, "SeriesTime"),
        acquisition_time=text(ds, "AcquisitionTime"),
        decay_correction=text(ds, "DecayCorrection"),
        corrected_image=corrected,
    )
