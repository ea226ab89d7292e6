"""The write API under load: entity completions and enrolments against `lms-progress serve`.

    .venv/bin/python -m bench.writes [--learners 2000] [--connections 1,8]

A fresh SQLite store; a token made with the CLI; one self-paced course of 20 entities built over
HTTP. Then, per concurrency: every learner is created and enrolled (2 calls each), and completes
entities (one call each, each a transaction that updates the enrolment's totals). The rate limit
is raised out of the way: this measures the writes, not the limiter. Prints calls per second and
latencies; docs/benchmarks.md ("Write API") has the results.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.http import Server, server_env
from bench.loaders import _percentile

ENTITIES = 20


async def run(
    url: str,
    token: str,
    calls: list[tuple[str, str, dict[str, Any] | None]],
    connections: int,
) -> dict[str, float]:
    """Send the calls in order from `connections` concurrent clients; every one must succeed."""
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    latencies: list[float] = []
    queue = iter(calls)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as c:

        async def worker() -> None:
            for method, path, body in queue:
                sent = time.perf_counter()
                answer = await c.request(method, path, json=body)
                latencies.append(time.perf_counter() - sent)
                if answer.status_code != 200:
                    raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "calls": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
    }


def one(url: str, token: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.request(
        method, url + path, json=body, headers={"Authorization": f"Zoho-oauthtoken {token}"}
    )
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--connections", default="1,8")
    parser.add_argument("--smoke", action="store_true", help="tiny run, to check the harness")
    options = parser.parse_args(argv)
    learners = 20 if options.smoke else options.learners
    directory = Path(tempfile.mkdtemp(prefix="lms-bench-writes-"))
    cli = str(Path(sys.executable).with_name("lms-progress"))
    env = server_env(LMS_PROGRESS_RATE_LIMIT_THRESHOLD="1000000000")

    print(
        f"{platform.machine()}, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}; {learners} learners per run, {ENTITIES} entities"
    )
    for connections in (int(n) for n in options.connections.split(",")):
        db = directory / f"writes-{connections}.db"
        env["LMS_PROGRESS_DATABASE_URL"] = f"sqlite:///{db}"
        subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
        made = subprocess.run(
            [cli, "token", "create", "--user", "1", "--scope", "ALL"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        token = next(w for w in made.stdout.split() if w.startswith("1000."))
        server = Server("writes", [cli, "serve", "--db", str(db)], env, directory / "serve.log")
        server.start()
        try:
            server.wait_ready()
            url = server.url
            course = one(url, token, "POST", "/api/v1/courses", {"name": "C", "type": 1})
            base = f"/api/v1/courses/{course['courseId']}"
            module = one(url, token, "POST", f"{base}/modules", {"name": "M"})["moduleId"]
            entities = [
                one(url, token, "POST", f"{base}/modules/{module}/files", {"name": f"F{n}"})[
                    "fileId"
                ]
                for n in range(ENTITIES)
            ]
            first = 10**15 + connections * 10**6
            ids = range(first, first + learners)
            creates = [("POST", "/api/v1/learners", {"name": f"L{i}", "id": i}) for i in ids]
            enrols = [("POST", f"{base}/learners/{i}/enrolment", None) for i in ids]
            completions = [
                ("POST", f"/api/v1/learners/{i}/entities/{entity}/completion", None)
                for entity in entities[:5]
                for i in ids
            ]
            asyncio.run(run(url, token, creates, connections))
            for name, calls in (("enrol", enrols), ("complete an entity", completions)):
                result = asyncio.run(run(url, token, calls, connections))
                print(
                    f"{connections} connection(s), {name}: {result['calls']:.0f} calls, "
                    f"{result['per_second']:.0f}/s, p50 {result['p50_ms']:.1f} ms, "
                    f"p99 {result['p99_ms']:.1f} ms"
                )
        finally:
            assert server.process is not None
            server.process.terminate()
            server.process.wait(timeout=30)


if __name__ == "__main__":
    main()
