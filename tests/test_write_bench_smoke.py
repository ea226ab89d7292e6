"""The write benchmark (bench/writes.py) runs end to end on a tiny store, so that it never rots.
It checks that every call succeeded and each measure was printed, never a timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_write_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.writes", "--smoke", "--connections", "1,4"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for connections in (1, 4):
        for name in ("enrol", "complete an entity"):
            assert any(line.startswith(f"{connections} connection(s), {name}: ") for line in lines)
