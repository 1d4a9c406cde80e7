"""Kill a real ``stsseg`` stage part-way: a child Python process runs the stage with a progress
callback that, at a chosen point, writes a marker file and sleeps; the test then SIGKILLs it
(no cleanup code can run) or SIGTERMs it (the CLI's handler turns it into SystemExit).

PYTEST_DONT_REWRITE: imported by test modules as a plain helper.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import os, sys, time
from pathlib import Path
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
MARKER = Path(sys.argv[1])

def stall(*_args):
    if not MARKER.exists():
        MARKER.write_text("here")
        time.sleep(600)
"""


def run_and_kill(
    body: str, marker: Path, sig: int = signal.SIGKILL, cwd: Path | None = None, timeout: float = 240
) -> int:
    """Run ``PRELUDE + body`` (which calls ``stall`` somewhere), wait for the marker, send ``sig``;
    return the exit code. Raises if the child ends before reaching the marker."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + body, str(marker)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    t0 = time.monotonic()
    while not marker.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"child ended (rc {proc.returncode}) before the marker:\n{out}\n{err}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("child did not reach the marker in time")
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    return proc.returncode


def hidden(folder: Path) -> list[str]:
    """Names of the hidden (temporary) entries in ``folder``."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))
