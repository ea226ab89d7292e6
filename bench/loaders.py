"""Load generators: wrk (the measuring one), and a small httpx loop that keeps the smoke run
working on a machine without wrk (its numbers measure the loop more than the server)."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

LUA = Path(__file__).with_name("load.lua")
INSTALL_WRK = "wrk is not installed: install it with `apt-get install wrk` (Debian, Ubuntu)"


@dataclass(frozen=True)
class Load:
    """One run against one target."""

    requests: int
    seconds: float
    non2xx: int  # answers other than 2xx/3xx (429 for the locked caller)
    socket_errors: int
    p50_ms: float
    p99_ms: float
    server_cpu_s: float = 0.0  # CPU time the server process spent meanwhile (set by the harness)

    @property
    def cpu_us_per_call(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else math.nan

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def refused_rate(self) -> float:
        return self.non2xx / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk(
    url: str,
    paths: Path,
    tokens: Path,
    per_token: int,
    *,
    seconds: int,
    connections: int,
    threads: int,
) -> Load:
    """Run wrk for `seconds`: the paths of `paths`, each token of `tokens` making `per_token`
    calls in a row (bench/load.lua)."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{max(connections, threads)}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        str(paths),
        str(tokens),
        str(per_token),
        str(threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            summary = json.loads(line[len("BENCH ") :])
            return Load(
                requests=summary["requests"],
                seconds=summary["duration_us"] / 1e6,
                non2xx=summary["non2xx"],
                socket_errors=summary["socket_errors"],
                p50_ms=summary["p50_us"] / 1000,
                p99_ms=summary["p99_us"] / 1000,
            )
    raise RuntimeError(f"wrk gave no summary ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def httpx_loop(
    url: str, paths: Path, tokens: Path, per_token: int, *, seconds: float, connections: int
) -> Load:
    """The same calls as wrk's, in the same order, from `connections` concurrent httpx tasks."""
    headers = [
        {"Authorization": f"Zoho-oauthtoken {token}"} for token in tokens.read_text().split()
    ]
    calls = paths.read_text().split()

    def call(n: int) -> tuple[str, dict[str, str]]:
        return calls[n % len(calls)], headers[n // per_token % len(headers)] if headers else {}

    return asyncio.run(_loop(url, call, seconds, connections))


async def _loop(
    url: str, call: Callable[[int], tuple[str, dict[str, str]]], seconds: float, connections: int
) -> Load:
    latencies: list[float] = []
    non2xx = errors = 0
    next_call = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            nonlocal next_call, non2xx, errors
            while time.perf_counter() < deadline:
                path, headers = call(next_call)
                next_call += 1
                sent = time.perf_counter()
                try:
                    answer = await client.get(path, headers=headers)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                if not 200 <= answer.status_code < 400:
                    non2xx += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return Load(
        requests=len(latencies),
        seconds=elapsed,
        non2xx=non2xx,
        socket_errors=errors,
        p50_ms=_percentile(latencies, 50) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
    )


def _percentile(ordered: list[float], percent: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]
