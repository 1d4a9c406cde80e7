"""A case list (``--source cases.csv`` / ``cases.json``): any files anywhere, each case named in a
CSV or a MONAI Decathlon datalist, read on ``data.reference``'s grid. Every refusal has a test."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from test_sources_folders import FILES, PET_SHAPE, f_ct, write_case

from sts_seg.cli import app
from sts_seg.errors import DataError
from sts_seg.sources import detect_layout, open_source


@pytest.fixture
def cases(tmp_path) -> Path:
    """Three cases in a scattered layout: ``imgs/<case>/...`` and one case elsewhere."""
    for c in ("A1", "A2"):
        write_case(tmp_path / "imgs" / c)
    write_case(tmp_path / "elsewhere" / "B1", label=None)
    return tmp_path


def _csv(path: Path, rows: list[dict[str, str]], columns=("case", "patient", "ct", "pet", "label")) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def _row(case: str, folder: str, label: bool = True, patient: str = "") -> dict[str, str]:
    return {"case": case, "patient": patient, "ct": f"{folder}/{FILES['ct']}", "pet": f"{folder}/{FILES['pet']}",
            "label": f"{folder}/{FILES['label']}" if label else ""}  # fmt: skip


def test_a_csv_list_reads_relative_and_absolute_paths(cases):
    absolute = {"case": "B1", "patient": "PB", "ct": str(cases / "elsewhere/B1" / FILES["ct"]),
                "pet": str(cases / "elsewhere/B1" / FILES["pet"]), "label": ""}  # fmt: skip
    lst = _csv(
        cases / "cases.csv", [_row("A1", "imgs/A1", patient="PA"), _row("A2", "imgs/A2", patient="PA"), absolute]
    )
    assert detect_layout(lst) == "caselist"
    src = open_source(lst, reference="pet")
    assert src.layout == "caselist"
    assert {i.case_id: i.patient for i in src.infos()} == {"A1": "PA", "A2": "PA", "B1": "PB"}
    assert src.files["A2"].ct == cases / "imgs/A2" / FILES["ct"]
    assert src.files["B1"].label is None
    case = src.read("A1")
    assert case.ct.shape == case.pet.shape == case.label.shape == PET_SHAPE[::-1]
    zi, yi, xi = np.meshgrid(*(np.arange(n) for n in PET_SHAPE[::-1]), indexing="ij")
    np.testing.assert_allclose(case.ct, f_ct(43.0 - 4 * xi, 35.0 - 4 * yi, 3.0 * zi), atol=1e-3)
    assert src.read("B1").label is None
    # a case list is a case list whatever data.layout says (a folders config takes --source cases.csv)
    assert open_source(lst, "folders", files=FILES, reference="pet").layout == "caselist"


def test_the_patient_column_is_optional(cases):
    lst = _csv(cases / "c.csv", [_row("A1", "imgs/A1"), _row("A2", "imgs/A2")], ("case", "ct", "pet", "label"))
    assert [i.patient for i in open_source(lst).infos()] == ["A1", "A2"]
    assert [i.patient for i in open_source(lst, patient_pattern=r"^(A)").infos()] == ["A", "A"]


def test_a_decathlon_datalist_reads_training_and_test_entries(cases):
    datalist = {
        "name": "anything else is ignored",
        "training": [
            {"image": [f"imgs/A1/{FILES['ct']}", f"imgs/A1/{FILES['pet']}"], "label": f"imgs/A1/{FILES['label']}"},
            {"case": "second", "image": [f"imgs/A2/{FILES['ct']}", f"imgs/A2/{FILES['pet']}"],
             "label": f"imgs/A2/{FILES['label']}"},
        ],
        "test": [[str(cases / "elsewhere/B1" / FILES["ct"]), str(cases / "elsewhere/B1" / FILES["pet"])]],
    }  # fmt: skip
    # the case id is the "case" key, else the CT file name without .nii.gz; the first (CT_image) collides:
    (cases / "d.json").write_text(json.dumps(datalist))
    with pytest.raises(DataError, match=r"case CT_image is listed twice \(test\[0\]\)"):
        open_source(cases / "d.json")
    datalist["training"][0]["id"] = "first"
    datalist["test"][0] = {"image": datalist["test"][0], "case": "third", "patient": "P3"}
    (cases / "d.json").write_text(json.dumps(datalist))
    src = open_source(cases / "d.json", reference="ct")
    assert {i.case_id: i.patient for i in src.infos()} == {"first": "first", "second": "second", "third": "P3"}
    assert src.read("second", with_label=False).ct.shape == (10, 20, 24)  # the CT grid (the label is on the PET)
    assert src.files["third"].label is None


def test_the_ct_file_stem_is_the_case_id(cases):
    (cases / "x.json").write_text(json.dumps({"training": [{"image": ["imgs/A1/CT_image.nii.gz",
                                                                     "imgs/A1/PET_image.nii.gz"]}]}))  # fmt: skip
    assert [i.case_id for i in open_source(cases / "x.json").infos()] == ["CT_image"]


# --------------------------------------------------------------------------- refusals, one line each


def test_a_listed_file_that_does_not_exist_is_named(cases):
    rows = [_row("A1", "imgs/A1"), {**_row("A2", "imgs/A2"), "pet": "imgs/A2/PT.nii.gz"}]
    with pytest.raises(DataError, match=r"case A2: the pet file imgs/A2/PT.nii.gz does not exist"):
        open_source(_csv(cases / "c.csv", rows))


def test_one_case_id_twice_is_refused(cases):
    with pytest.raises(DataError, match=r"case A1 is listed twice \(line 3\)"):
        open_source(_csv(cases / "c.csv", [_row("A1", "imgs/A1"), _row("A1", "imgs/A2")]))


def test_one_file_for_two_cases_is_refused(cases):
    rows = [_row("A1", "imgs/A1"), {**_row("A2", "imgs/A2"), "label": f"imgs/A1/{FILES['label']}"}]
    with pytest.raises(
        DataError, match=r"case A2: the label file imgs/A1/PET_mask.nii.gz is also the label of case A1"
    ):
        open_source(_csv(cases / "c.csv", rows))


def test_one_file_for_two_roles_is_refused(cases):
    rows = [{**_row("A1", "imgs/A1"), "pet": f"imgs/A1/{FILES['ct']}"}]
    with pytest.raises(DataError, match=r"case A1: the pet file .* is also the ct of this case"):
        open_source(_csv(cases / "c.csv", rows))


def test_a_csv_without_the_required_columns_is_refused(cases):
    with pytest.raises(DataError, match=r"no column pet \(found case, ct\)"):
        open_source(_csv(cases / "c.csv", [{"case": "A1", "ct": "x"}], ("case", "ct")))


def test_a_datalist_image_that_is_not_two_files_is_refused(cases):
    (cases / "d.json").write_text(json.dumps({"training": [{"image": "imgs/A1/CT_image.nii.gz"}]}))
    with pytest.raises(DataError, match=r"training\[0\]: 'image' must list two files, \[ct, pet\]"):
        open_source(cases / "d.json")


def test_a_json_without_a_datalist_is_refused(cases):
    (cases / "d.json").write_text(json.dumps({"cases": []}))
    with pytest.raises(DataError, match="no 'training', 'validation' or 'test' list"):
        open_source(cases / "d.json")


def test_the_cli_names_the_missing_file_in_one_line(cases, runner, tmp_path):
    lst = _csv(cases / "c.csv", [_row("A1", "imgs/A1"), _row("A2", "imgs/A2"), _row("A3", "imgs/A3")])
    res = runner.invoke(app, ["prepare", "--source", str(lst), "--output", str(tmp_path / "ds")])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "case A3: the ct file imgs/A3/CT_image.nii.gz does not exist" in lines[0]
