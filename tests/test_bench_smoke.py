"""The benchmark harness (bench/http.py) runs end to end on a tiny store, so that it never rots.

It checks what the harness must get right (every target answered, no seed call rate limited, the
locked caller refused, the report complete), never a timing: timings live in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import loaders
from bench.http import Server, yardstick

REPO = Path(__file__).resolve().parents[1]


def run_harness(tmp_path: Path, *options: str) -> dict[str, Any]:
    out = tmp_path / "report.json"
    command = [sys.executable, "-m", "bench.http", "--smoke", "--cache-dir", str(tmp_path)]
    done = subprocess.run(
        [*command, "--json", str(out), *options],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_smoke_run_measures_every_target(tmp_path: Path) -> None:
    # wrk when installed, else the built-in httpx loop: either way the run completes.
    report = run_harness(tmp_path)
    assert report["settings"]["loader"] == ("wrk" if loaders.have_wrk() else "httpx")
    targets = {row["target"]: row for row in report["targets"]}
    assert set(targets) == {"raw", "fastapi", "seed/300", "p2/300", "locked/300"}
    for name in ("raw", "fastapi", "seed/300", "p2/300"):
        assert targets[name]["requests"] > 0, name
        assert targets[name]["non2xx"] == 0, name  # enough tokens: nobody hit the rate limit
        assert targets[name]["per_second"] > 0, name
    locked = targets["locked/300"]
    assert locked["requests"] > 0
    assert locked["non2xx"] == locked["requests"]  # locked during the warm-up, refused since
    assert report["warnings"] == []
    (size,) = report["sizes"]
    assert size["enrolments"] == 300
    assert size["records_imported"] > 300  # learners, catalogue, enrolments, completions
    assert size["answer_bytes"] > 100
    assert 0 < size["memory_idle_mb"] <= size["memory_peak_mb"]
    assert len(report["checks"]) == 4
    assert report["machine"]["cpus"] >= 1
    # The store was built once and is reused from the cache.
    assert len(list(tmp_path.glob("store-300-*/meta.json"))) == 1


def test_granian_runs_every_target_and_its_worker_is_measured(tmp_path: Path) -> None:
    """granian serves from a child process: its CPU and memory are counted, not the parent's."""
    report = run_harness(tmp_path, "--server", "granian")
    assert report["settings"]["server"] == "granian"
    targets = {row["target"]: row for row in report["targets"]}
    for name in ("raw", "fastapi", "seed/300", "p2/300"):
        assert targets[name]["requests"] > 0 and targets[name]["non2xx"] == 0, name
        assert targets[name]["cpu_us_per_call"] > 0, name
    assert targets["locked/300"]["non2xx"] == targets["locked/300"]["requests"] > 0
    assert report["warnings"] == []


def test_httpx_loop_counts_answers_and_refusals(tmp_path: Path) -> None:
    """The fallback loader, used when wrk is missing, against the raw yardstick."""
    server: Server = yardstick("raw", "uvicorn", "bench.targets:raw", 200, tmp_path / "raw.log")
    paths, tokens = tmp_path / "paths", tmp_path / "tokens"
    paths.write_text("/api/v1/learners/1/course-progress\n/x\n")
    tokens.write_text("some-token\nanother-token\n")
    server.start()
    try:
        server.wait_ready()
        load = loaders.httpx_loop(server.url, paths, tokens, 3, seconds=0.5, connections=4)
    finally:
        server.stop()
    assert load.requests > 0 and load.non2xx == 0 and load.socket_errors == 0
    assert 0 < load.p50_ms <= load.p99_ms


@pytest.mark.parametrize("size", [20, 1500, 4000])
def test_yardstick_body_has_the_asked_size(size: int) -> None:
    from bench.targets import body

    answer = body(size)
    assert len(answer) == size
    assert json.loads(answer)
