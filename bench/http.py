"""The seed endpoint against the raw ASGI ceiling, from small to large stores.

    .venv/bin/python -m bench.http --sizes 1000,100000,1000000

For each size a synthetic store is built through the bulk import (bench/synthetic.py, cached).
Then, all at once and with the same uvicorn settings, one process each: a raw ASGI app and a bare
FastAPI route answering fixed bytes of the seed answer's mean size (bench/targets.py), and
`lms-progress serve` on each store (production settings: defaults, access log off). wrk loads
them one at a time, interleaved over several rounds: the yardsticks, then per store the seed
endpoint (P1), P2 and a locked caller. Ratios are taken within a round, then the median is shown,
so that a busy machine slows the yardstick and the server alike.

docs/benchmarks.md has the results and what each number means.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from bench import loaders, synthetic
from bench.loaders import Load
from lms_progress.settings import Settings

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "lms-progress-bench"
# The fastest a target may answer for the tokens made to last (wrk; the httpx loop is far slower).
MAX_RATE = {"wrk": 60_000, "httpx": 5_000}
P1 = "/api/v1/learners/{learner}/course-progress"
P2 = "/api/v1/courses/{course}/learners/{learner}/course-progress"

# -- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*self.command, "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()}")
            try:
                httpx.get(self.url + "/", timeout=2)  # any answer: it is up
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start in {timeout} s:\n{self.log.read_text()}")

    def pids(self) -> list[int]:
        """The server process and its descendants (granian serves from a child process)."""
        assert self.process is not None
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                todo += [int(child) for child in task.read_text().split()]
        return found

    def memory_mb(self, field_name: str) -> float:
        """VmHWM (peak resident) or VmRSS of the server's processes together, in MB."""
        total = 0
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field_name + ":"):
                    total += int(line.split()[1])
        return total / 1024 if total else math.nan

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server's processes so far."""
        ticks = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_env(**extra: str) -> dict[str, str]:
    """The environment without any LMS_PROGRESS_* of the caller's: every server runs on the
    defaults (production settings), access log off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_PROGRESS_")}
    env["LMS_PROGRESS_ACCESS_LOG"] = "false"
    return {**env, **extra}


# The ASGI servers every target runs on, one worker each: uvicorn as `lms-progress serve` runs it
# (factory, httptools, uvloop, access log off), or granian (HTTP parsed in Rust), to compare.
SERVERS = {
    "uvicorn": ["-m", "uvicorn", "--factory", "--host", "127.0.0.1", "--no-access-log"],
    "granian": ["-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1"],
}
SERVERS["uvicorn"] += ["--log-level", "info"]
SERVERS["granian"] += ["--no-ws", "--no-access-log", "--log-level", "warning"]


def yardstick(name: str, server: str, factory: str, body_bytes: int, log: Path) -> Server:
    env = server_env(LMS_BENCH_BODY_BYTES=str(body_bytes))
    return Server(name, [sys.executable, *SERVERS[server], factory], env, log)


def lms_server(name: str, server: str, store: synthetic.Built, log: Path) -> Server:
    if server == "granian":
        env = server_env(LMS_PROGRESS_DATABASE_URL=store.url)
        command = [sys.executable, *SERVERS[server], "lms_progress.app:factory"]
        return Server(name, command, env, log)
    command = [str(Path(sys.executable).with_name("lms-progress")), "serve", "--db"]
    command += [str(store.database), "--host", "127.0.0.1", "--no-access-log"]
    return Server(name, command, server_env(), log)


# -- calls ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calls:
    """The call files of one store: paths of P1 and P2 calls (many learners), tokens per slice
    (slice 0 for the warm-up, then one per round; a token is never used in two runs), and the
    locked caller's token."""

    p1: Path
    p2: Path
    tokens: list[Path]
    locked: Path
    answer_bytes: float


PATHS = 20_000  # distinct calls per file (fewer when the store has fewer learners)


def write_calls(
    store: synthetic.Built, directory: Path, slices: int, per_slice: int, rng: random.Random
) -> Calls:
    tokens = store.tokens()
    assert len(tokens) >= slices * per_slice
    with sqlite3.connect(store.database) as db:
        learners = [row[0] for row in db.execute("SELECT id FROM learners")]
        enrolled = db.execute(
            "SELECT learner_id, course_id FROM enrolments WHERE ended_at IS NULL "
            "ORDER BY random() LIMIT ?",
            (PATHS,),
        ).fetchall()
    p1_learners = rng.sample(learners, min(PATHS, len(learners)))
    p1 = directory / "p1.paths"
    p1.write_text("".join(P1.format(learner=learner) + "\n" for learner in p1_learners))
    p2 = directory / "p2.paths"
    p2.write_text(
        "".join(P2.format(course=course, learner=learner) + "\n" for learner, course in enrolled)
    )
    token_files = []
    for n in range(slices):
        path = directory / f"tokens-{n}"
        path.write_text("".join(t + "\n" for t in tokens[n * per_slice : (n + 1) * per_slice]))
        token_files.append(path)
    locked = directory / "tokens-locked"
    locked.write_text(store.locked_token() + "\n")
    return Calls(p1, p2, token_files, locked, answer_size(store, p1_learners[:500]))


def answer_size(store: synthetic.Built, learners: list[int]) -> float:
    """The mean size of the seed answers for `learners`, rendered by the service itself."""
    from lms_progress.app import create_app
    from lms_progress.progress import service

    app = create_app(Settings(database_url=store.url))
    ctx = app.state.ctx
    try:
        return statistics.fmean(len(service.learner_progress(ctx, str(x), None)) for x in learners)
    finally:
        ctx.reader.close()
        ctx.engine.dispose()


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Options:
    sizes: list[int]
    seconds: int
    warmup: int
    rounds: int
    connections: int
    threads: int
    loader: str
    cache: Path
    json_path: Path | None
    smoke: bool
    server: str


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--sizes", default="1000,100000,1000000", help="enrolments per store")
    parser.add_argument("--seconds", type=int, default=6, help="per target and round")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per target, once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--loader", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="built stores")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--server", choices=tuple(SERVERS), default="uvicorn", help="ASGI server of every target"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few seconds on a tiny store (CI): checks the harness, measures nothing",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.seconds, args.warmup, args.rounds = "300", 1, 1, 1
        args.connections = min(args.connections, 8)
    loader = args.loader
    if loader == "auto":
        loader = "wrk" if loaders.have_wrk() or not args.smoke else "httpx"
    if loader == "wrk" and not loaders.have_wrk():
        parser.exit(2, loaders.INSTALL_WRK + "\n")
    if args.server == "granian" and importlib.util.find_spec("granian") is None:
        parser.exit(2, "granian is not installed: .venv/bin/pip install granian\n")
    return Options(
        sizes=[int(size) for size in args.sizes.split(",")],
        seconds=args.seconds,
        warmup=args.warmup,
        rounds=args.rounds,
        connections=args.connections,
        threads=args.threads,
        loader=loader,
        cache=args.cache_dir,
        json_path=args.json,
        smoke=args.smoke,
        server=args.server,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    machine_before = machine()
    # The servers run on the default settings, whatever this process's environment says.
    threshold: int = Settings.model_fields["rate_limit_threshold"].default
    # Tokens per slice: enough that at MAX_RATE each is used below the rate limit's threshold.
    per_token = max(1, threshold * 5 // 6)
    longest = max(options.seconds, options.warmup)
    per_slice = math.ceil(MAX_RATE[options.loader] * longest / per_token)
    slices = options.rounds + 1
    options.cache.mkdir(parents=True, exist_ok=True)
    stores = {
        size: synthetic.build(size, options.cache, tokens=slices * per_slice, say=say)
        for size in options.sizes
    }
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="lms-bench-run-") as scratch:
        run_dir = Path(scratch)
        calls: dict[int, Calls] = {}
        for size, store in stores.items():
            directory = run_dir / str(size)
            directory.mkdir()
            calls[size] = write_calls(store, directory, slices, per_slice, rng)
        body_bytes = round(statistics.fmean(c.answer_bytes for c in calls.values()))
        servers = {
            "raw": yardstick(
                "raw ASGI", options.server, "bench.targets:raw", body_bytes, run_dir / "raw.log"
            ),
            "fastapi": yardstick(
                "bare FastAPI", options.server, "bench.targets:bare", body_bytes, run_dir / "fa.log"
            ),
        }
        for size, store in stores.items():
            servers[f"lms-{size}"] = lms_server(
                f"lms-progress {size}", options.server, store, run_dir / f"{size}.log"
            )
        try:
            for server in servers.values():
                server.start()
            for server in servers.values():
                server.wait_ready()
            idle = {n: s.memory_mb("VmRSS") for n, s in servers.items() if n.startswith("lms-")}
            results = measure(options, servers, calls, per_token, say)
            peak = {n: s.memory_mb("VmHWM") for n, s in servers.items() if n.startswith("lms-")}
        finally:
            for server in servers.values():
                server.stop()
    report = summarise(options, stores, calls, results, body_bytes, idle, peak)
    report["machine"] = machine_before
    report["machine"]["load_after"] = uptime()
    report["command"] = "python -m bench.http " + " ".join(sys.argv[1:] if argv is None else argv)
    print_report(report)
    if options.json_path is not None:
        options.json_path.write_text(json.dumps(report, indent=2))
    return 0


Results = dict[str, list[Load]]  # target name -> one Load per round


def say(text: str) -> None:
    print(text, flush=True)


def measure(
    options: Options,
    servers: dict[str, Server],
    calls: dict[int, Calls],
    per_token: int,
    say: Callable[[str], None],
) -> Results:
    first = calls[options.sizes[0]]
    # (result name, server, paths, tokens of each slice, calls per token). The yardsticks get the
    # seed calls; the locked caller is one token, refused since the warm-up.
    plan: list[tuple[str, Server, Path, list[Path], int]] = [
        ("raw", servers["raw"], first.p1, first.tokens, per_token),
        ("fastapi", servers["fastapi"], first.p1, first.tokens, per_token),
    ]
    for size in options.sizes:
        c, server = calls[size], servers[f"lms-{size}"]
        plan += [
            (f"seed/{size}", server, c.p1, c.tokens, per_token),
            (f"p2/{size}", server, c.p2, c.tokens, per_token),
            (f"locked/{size}", server, c.p1, [c.locked] * len(c.tokens), 1),
        ]

    def run(server: Server, paths: Path, tokens: Path, calls_per_token: int, seconds: int) -> Load:
        before = server.cpu_seconds()
        if options.loader == "wrk":
            load = loaders.wrk(
                server.url,
                paths,
                tokens,
                calls_per_token,
                seconds=seconds,
                connections=options.connections,
                threads=options.threads,
            )
        else:
            load = loaders.httpx_loop(
                server.url,
                paths,
                tokens,
                calls_per_token,
                seconds=seconds,
                connections=options.connections,
            )
        return replace(load, server_cpu_s=server.cpu_seconds() - before)

    say(f"warming up ({options.warmup} s per target)")
    for _, server, paths, tokens, calls_per_token in plan:
        run(server, paths, tokens[0], calls_per_token, options.warmup)
    results: Results = {name: [] for name, *_ in plan}
    for round_number in range(1, options.rounds + 1):
        say(f"round {round_number}/{options.rounds}")
        for name, server, paths, tokens, calls_per_token in plan:
            load = run(server, paths, tokens[round_number], calls_per_token, options.seconds)
            results[name].append(load)
            say(
                f"  {name:<16} {load.rate:>9,.0f} req/s  p50 {load.p50_ms:6.2f} ms  "
                f"p99 {load.p99_ms:6.2f} ms  server CPU {load.cpu_us_per_call:5.1f} us/call  "
                f"non-2xx {load.non2xx}"
            )
    return results


# -- the report -------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _served(name: str, load: Load) -> float:
    """What a target is measured by: answers per second, refusals for the locked caller."""
    return load.refused_rate if name.startswith("locked/") else load.rate


def summarise(
    options: Options,
    stores: dict[int, synthetic.Built],
    calls: dict[int, Calls],
    results: Results,
    body_bytes: int,
    idle: dict[str, float],
    peak: dict[str, float],
) -> dict[str, Any]:
    raw = results["raw"]
    rows: list[dict[str, Any]] = []
    warnings = []
    for name, loads in results.items():
        pairs = list(zip(loads, raw, strict=True))
        rows.append(
            {
                "target": name,
                "per_second": _median([_served(name, x) for x in loads]),
                "p50_ms": _median([x.p50_ms for x in loads]),
                "p99_ms": _median([x.p99_ms for x in loads]),
                "x_raw": _median([_served(name, x) / r.rate for x, r in pairs]),
                "p99_x_raw": _median([x.p99_ms / r.p99_ms for x, r in pairs]),
                # Server CPU per call: what a dedicated core would give, whatever else runs.
                "cpu_us_per_call": _median([x.cpu_us_per_call for x in loads]),
                "cpu_x_raw": _median([r.cpu_us_per_call / x.cpu_us_per_call for x, r in pairs]),
                "requests": sum(x.requests for x in loads),
                "non2xx": sum(x.non2xx for x in loads),
                "socket_errors": sum(x.socket_errors for x in loads),
                "rounds": [asdict(x) for x in loads],
            }
        )
        refused = sum(x.non2xx for x in loads)
        if name.startswith("locked/"):
            if refused < sum(x.requests for x in loads):
                warnings.append(
                    f"{name}: {sum(x.requests for x in loads) - refused} calls accepted"
                )
        elif refused:
            warnings.append(f"{name}: {refused} answers were not 2xx (rate limited?)")
        if sum(x.socket_errors for x in loads):
            warnings.append(f"{name}: {sum(x.socket_errors for x in loads)} socket errors")
    by_name = {row["target"]: row for row in rows}
    sizes = []
    for size, store in stores.items():
        sizes.append(
            {
                "enrolments": size,
                "records_imported": store.records,
                "import_seconds": round(store.import_seconds, 2),
                "import_records_per_second": round(store.import_rate),
                "store_mb": round(store.database.stat().st_size / 1e6, 1),
                "answer_bytes": round(calls[size].answer_bytes),
                "memory_idle_mb": round(idle[f"lms-{size}"], 1),
                "memory_peak_mb": round(peak[f"lms-{size}"], 1),
            }
        )
    checks: list[tuple[str, float, str, float]] = []
    for size in options.sizes:
        seed = by_name[f"seed/{size}"]
        checks += [
            (f"seed endpoint >= 0.5 x raw ({size:,})", seed["x_raw"], ">=", 0.5),
            (f"seed p99 <= 3 x raw p99 ({size:,})", seed["p99_x_raw"], "<=", 3.0),
            (
                f"locked refusals >= 0.7 x raw ({size:,})",
                by_name[f"locked/{size}"]["x_raw"],
                ">=",
                0.7,
            ),
        ]
    small, large = min(options.sizes), max(options.sizes)
    if small != large:
        scale = _median(
            [
                b.rate / a.rate
                for a, b in zip(results[f"seed/{small}"], results[f"seed/{large}"], strict=True)
            ]
        )
        checks.append((f"seed at {large:,} >= 0.9 x at {small:,}", scale, ">=", 0.9))
    checks.append((f"peak memory MB at {large:,} <= 150", peak[f"lms-{large}"], "<=", 150.0))
    return {
        "settings": {
            "loader": options.loader,
            "seconds": options.seconds,
            "warmup": options.warmup,
            "rounds": options.rounds,
            "connections": options.connections,
            "threads": options.threads,
            "body_bytes": body_bytes,
            "smoke": options.smoke,
            "server": options.server,
        },
        "targets": rows,
        "sizes": sizes,
        "checks": [
            {
                "check": what,
                "value": round(value, 3),
                "met": value >= goal if op == ">=" else value <= goal,
            }
            for what, value, op, goal in checks
        ],
        "warnings": warnings,
    }


def print_report(report: dict[str, Any]) -> None:
    print()
    print(
        "| target | per second | x raw | p50 ms | p99 ms | p99 x raw | CPU us/call | x raw (CPU) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in report["targets"]:
        print(
            f"| {row['target']} | {row['per_second']:,.0f} | {row['x_raw']:.2f} | "
            f"{row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['p99_x_raw']:.2f} | "
            f"{row['cpu_us_per_call']:.1f} | {row['cpu_x_raw']:.2f} |"
        )
    print()
    print(
        "| enrolments | records imported | import s | records/s | store MB | answer bytes "
        "| server MB idle | server MB peak |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in report["sizes"]:
        print(
            f"| {size['enrolments']:,} | {size['records_imported']:,} | "
            f"{size['import_seconds']:,.1f} | {size['import_records_per_second']:,} | "
            f"{size['store_mb']:,.0f} | {size['answer_bytes']:,} | {size['memory_idle_mb']:.0f} | "
            f"{size['memory_peak_mb']:.0f} |"
        )
    print()
    for check in report["checks"]:
        print(f"- [{'x' if check['met'] else ' '}] {check['check']}: {check['value']}")
    for warning in report["warnings"]:
        print(f"- warning: {warning}")
    if report["settings"]["smoke"]:
        print("- smoke run: it checks the harness; its numbers say nothing about the server")
    m = report["machine"]
    print(
        f"\n{m['cpus']} x {m['cpu']}, {m['memory_gb']} GB, Python {m['python']}, "
        f"server {report['settings']['server']} (uvicorn {m['uvicorn']}, granian {m['granian']}); "
        f"load before: {m['load_before']}; after: {m['load_after']}"
    )


def uptime() -> str:
    """`uptime`'s line (the load averages say whether the machine was otherwise busy)."""
    try:
        done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    except OSError:
        return "load average: " + Path("/proc/loadavg").read_text().strip()
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    wrk_version = "absent"
    if loaders.have_wrk():
        text = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        wrk_version = (text.stdout or text.stderr).split("\n", 1)[0].strip()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        **{name: version(name) for name in ("uvicorn", "uvloop", "httptools", "fastapi")},
        "granian": version("granian") if importlib.util.find_spec("granian") else "absent",
        "wrk": wrk_version,
        "load_before": uptime(),
    }


if __name__ == "__main__":
    sys.exit(main())
