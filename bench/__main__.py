"""``python -m bench [--quick] [stage ...]``: run the benchmarks and print one table."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

STAGES = ("prepare", "sources", "augment", "train", "evaluate", "infer", "cv", "export")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("stages", nargs="*", metavar="stage", help=f"any of {', '.join(STAGES)} (default: all)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    args = ap.parse_args()
    unknown = sorted(set(args.stages) - set(STAGES))
    if unknown:
        ap.error(f"unknown stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    from rich.console import Console
    from rich.table import Table

    rows, t0 = [], time.perf_counter()
    for stage in args.stages or STAGES:
        mod = importlib.import_module(f"bench.bench_{stage}")
        print(f"[bench] {stage} ...", file=sys.stderr, flush=True)
        rows += mod.run(quick=args.quick)
    table = Table(title=f"stsseg benchmarks — {machine()}")
    for col in ("stage", "case", "value", "unit", "note"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for r in rows:
        table.add_row(r["stage"], r["case"], f"{r['value']:.3g}", r["unit"], r.get("note", ""))
    Console(width=160).print(table)
    print(f"total {time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
