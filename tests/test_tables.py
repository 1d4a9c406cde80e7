"""Tables off a terminal (``make demo``, CI logs, pipes) come out at full width: the right-hand
columns are never cut; on a terminal they still fit its width."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from rich.table import Table

from sts_seg.cli import app
from sts_seg.cli.common import output_console
from sts_seg.io.h5 import write_kaggle_h5, write_label_h5

ROOT = Path(__file__).resolve().parents[1]
HEADERS = [f"metric_number_{i:02d}_in_mm" for i in range(12)] + ["the_last_column_header"]
ROWS = [[f"value_{r}_{i:02d}_abcdef" for i in range(12)] + [f"last_value_of_row_{r}_in_full"] for r in range(3)]


def _table() -> Table:
    t = Table(title="wide")
    for h in HEADERS:
        t.add_column(h)
    for row in ROWS:
        t.add_row(*row)
    return t


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines_with_all(text: str, cells: list[str]) -> list[str]:
    return [line for line in text.splitlines() if all(c in line for c in cells)]


def test_off_a_terminal_a_wide_table_is_printed_in_full():
    buf = io.StringIO()
    output_console(buf).print(_table())
    out = buf.getvalue()
    assert len(_lines_with_all(out, HEADERS)) == 1  # every header whole, on one line
    for row in ROWS:
        assert len(_lines_with_all(out, row)) == 1  # every value whole, the last column's included
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) > 300  # wider than any terminal default


def test_on_a_terminal_the_table_fits_its_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    buf = _Tty()
    console = output_console(buf)
    console.print(_table())
    out = re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue())  # a terminal gets colour codes
    assert console.width == 100
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "the_last_column_header" not in out  # cut to fit: the behaviour kept for terminals


def test_the_cli_console_in_a_real_pipe_prints_the_table_in_full():
    code = (
        "from rich.table import Table\n"
        "from sts_seg.cli.common import console\n"
        f"t = Table()\nfor h in {HEADERS!r}: t.add_column(h)\n"
        f"for r in {ROWS!r}: t.add_row(*r)\n"
        "console.print(t)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "80"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env).stdout
    assert len(_lines_with_all(out, HEADERS)) == 1
    assert all(len(_lines_with_all(out, row)) == 1 for row in ROWS)


def test_the_evaluate_table_keeps_its_right_hand_columns(runner, in_tmp):
    """``stsseg evaluate`` off a terminal, with a case name long enough to push the table past any
    column limit: the header and the last column ("pred mL") are all there, the name uncut."""
    name = "PATIENT_" + "0123456789" * 12
    label = np.zeros((6, 16, 16), np.uint8)
    label[2:4, 4:9, 4:10] = 1  # 60 voxels of 125 mm³: 7.5 mL
    write_kaggle_h5(
        in_tmp / "src.h5", {name: (np.zeros_like(label, np.int16), np.ones(label.shape, np.float32), label)}
    )
    write_label_h5(in_tmp / "pred.h5", {name: label})
    res = runner.invoke(app, ["evaluate", "--predictions", "pred.h5", "--source", "src.h5", "-o", "rep"])
    assert res.exit_code == 0, res.output
    header = [
        "case",
        "Dice",
        "40% SUVmax Dice",
        "SUV>=2.5 Dice",
        "IoU",
        "precision",
        "recall",
        "HD95 mm",
        "ASSD mm",
        "GT mL",
        "pred mL",
    ]  # the headline baseline rule, then the other
    assert len(_lines_with_all(res.stdout, header)) == 1
    (row,) = _lines_with_all(res.stdout, [name])
    assert row.rstrip().rstrip("│").split("│")[-1].strip() == "7.500"  # pred mL, the last column
