"""Write the config reference (generated from the models) into README.md between its markers:
``python scripts/config_reference.py`` (``--check`` only reports whether it is current)."""

from __future__ import annotations

import sys
from pathlib import Path

from sts_seg.config.reference import markdown

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def spliced(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{markdown()}\n{END}{tail}"


if __name__ == "__main__":
    current = README.read_text()
    new = spliced(current)
    if "--check" in sys.argv:
        sys.exit(0 if new == current else "README.md config reference is stale: run python scripts/config_reference.py")
    README.write_text(new)
