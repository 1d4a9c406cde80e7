"""Body-weight SUV from the PET header: hand-computed factors, on plain values and on headers written with pydicom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pydicom")

from dicom_fixtures import write_study

from sts_seg.dicom import index_study, read_series
from sts_seg.dicom.suv import PetHeader, elapsed_s, suv_factor, tm_seconds
from sts_seg.errors import DataError

WEIGHT, DOSE, HALF_LIFE = 80.0, 4.0e8, 6000.0
HALF_LIVES = {
    "injection_time": "100000",
    "series_time": "114000",
    "acquisition_time": "114000",
}  # 100 min = 6000 s later


def bqml(**kw) -> PetHeader:
    values = dict(
        units="BQML",
        weight_kg=WEIGHT,
        dose_bq=DOSE,
        half_life_s=HALF_LIFE,
        decay_correction="START",
        corrected_image=("ATTN", "DECY"),
        **HALF_LIVES,
    )
    values.update(kw)
    return PetHeader(**values)


def test_dicom_times_parse_and_wrap_past_midnight():
    assert tm_seconds("121900.00") == 12 * 3600 + 19 * 60
    assert tm_seconds("1219") == tm_seconds("12:19:00") == 44340.0
    assert tm_seconds("000001.5") == 1.5
    assert elapsed_s("233000", "003000") == 3600.0  # the scan after midnight
    with pytest.raises(ValueError, match="is not a DICOM time"):
        tm_seconds("25")


def test_start_decays_the_dose_to_the_series_time():
    # one half-life from injection to the series start: half the dose is left
    assert suv_factor(bqml(), "c") == pytest.approx(WEIGHT * 1000 * 2 / DOSE, rel=1e-12)
    # a quarter of the half-life: 2 ** -0.25 left; AcquisitionTime is not used for START
    h = bqml(series_time="102500", acquisition_time="130000")
    assert suv_factor(h, "c") == pytest.approx(WEIGHT * 1000 / (DOSE * 2**-0.25), rel=1e-12)


def test_admin_needs_no_decay_and_no_times():
    h = bqml(decay_correction="ADMIN", injection_time=None, series_time=None, acquisition_time=None, half_life_s=None)
    assert suv_factor(h, "c") == pytest.approx(WEIGHT * 1000 / DOSE, rel=1e-12)


def test_uncorrected_images_decay_to_the_acquisition_time():
    h = bqml(decay_correction="NONE", corrected_image=("ATTN",), series_time="100000", acquisition_time="114000")
    assert suv_factor(h, "c") == pytest.approx(WEIGHT * 1000 * 2 / DOSE, rel=1e-12)


def test_contradicting_decay_attributes_are_refused():
    with pytest.raises(DataError, match="CorrectedImage lacks DECY but DecayCorrection is START"):
        suv_factor(bqml(corrected_image=("ATTN",)), "c")
    with pytest.raises(DataError, match="CorrectedImage has DECY but DecayCorrection"):
        suv_factor(bqml(decay_correction="NONE"), "c")


def test_gml_is_kept_and_counts_are_refused():
    assert suv_factor(PetHeader(units="GML"), "c") == 1.0
    with pytest.raises(DataError, match=r"^STS_9: PET Units \(0054,1001\) is CNTS"):
        suv_factor(PetHeader(units="CNTS", weight_kg=70.0, dose_bq=DOSE), "STS_9")


@pytest.mark.parametrize(
    ("missing", "attribute"),
    [
        ({"weight_kg": None}, "PatientWeight"),
        ({"weight_kg": 0.0}, "PatientWeight"),
        ({"dose_bq": None}, "RadionuclideTotalDose"),
        ({"half_life_s": None}, "RadionuclideHalfLife"),
        ({"injection_time": None}, "RadiopharmaceuticalStartTime"),
        ({"series_time": None, "acquisition_time": None}, "SeriesTime"),
    ],
)
def test_a_missing_attribute_is_named(missing, attribute):
    with pytest.raises(DataError, match=rf"^case 7: {attribute} .* is missing"):
        suv_factor(bqml(**missing), "case 7")


# --- through headers written with pydicom ------------------------------------------------------------------------


def pet_suv(tmp_path: Path, **kw) -> tuple[np.ndarray, np.ndarray]:
    """(SUV read by stsseg as (slice, row, column), the rescaled stored values)."""
    w = write_study(tmp_path / "case", **kw)
    img = read_series(index_study(w.folder, "c1").pet, "c1")
    return np.asarray(img.dataobj).transpose(2, 1, 0), w.pet_values


def test_header_one_half_life_start(tmp_path):
    suv, values = pet_suv(
        tmp_path,
        pet_overrides={"SeriesTime": "114000", "AcquisitionTime": "114000"},
        drug_overrides={"RadiopharmaceuticalStartTime": "100000", "RadionuclideHalfLife": "6000"},
    )
    np.testing.assert_allclose(suv, values * 70.0 * 1000 * 2 / 3.7e8, rtol=1e-6)  # per-slice RescaleSlope applied


def test_header_admin_and_the_injection_datetime_without_dates(tmp_path):
    # injection "the next day" by its date, as in STS_010: only times count (ADMIN needs none at all)
    drug = {"RadiopharmaceuticalStartTime": None, "RadiopharmaceuticalStartDateTime": "20200102100000.00"}
    suv, values = pet_suv(
        tmp_path / "a", pet_overrides={"DecayCorrection": "ADMIN", "SeriesDate": "20200101"}, drug_overrides=drug
    )
    np.testing.assert_allclose(suv, values * 70.0 * 1000 / 3.7e8, rtol=1e-6)
    suv, values = pet_suv(
        tmp_path / "b",
        pet_overrides={"SeriesTime": "114000", "SeriesDate": "20200101"},
        drug_overrides={**drug, "RadionuclideHalfLife": "6000"},
    )
    np.testing.assert_allclose(suv, values * 70.0 * 1000 * 2 / 3.7e8, rtol=1e-6)


def test_header_gml_values_are_kept(tmp_path):
    suv, values = pet_suv(tmp_path, pet_overrides={"Units": "GML", "PatientWeight": None})
    np.testing.assert_allclose(suv, values, rtol=1e-6)


@pytest.mark.parametrize(
    ("overrides", "drug", "message"),
    [
        ({"Units": "CNTS"}, {}, "Units (0054,1001) is CNTS"),
        ({"PatientWeight": None}, {}, "PatientWeight (0010,1030) is missing"),
        ({}, {"RadionuclideTotalDose": None}, "RadionuclideTotalDose (0018,1074) is missing"),
    ],
)
def test_header_refusals_name_case_series_and_attribute(tmp_path, overrides, drug, message):
    w = write_study(tmp_path / "case", pet_overrides=overrides, drug_overrides=drug)
    info = index_study(w.folder, "STS_123").pet
    with pytest.raises(DataError) as e:
        read_series(info, "STS_123")
    assert str(e.value).startswith(f"STS_123: PT series {w.pet_uid} (")
    assert message in str(e.value)
    assert "\n" not in str(e.value)
