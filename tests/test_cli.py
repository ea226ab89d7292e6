"""The command line, including the README's first command path: serve --demo, then its curl."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lms_progress.cli import app

runner = CliRunner()
SEED = json.loads((Path(__file__).parent / "data" / "seed_response.json").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_every_command_has_help() -> None:
    for args in (
        [],
        ["serve"],
        ["db"],
        ["db", "upgrade"],
        ["db", "current"],
        ["token"],
        ["token", "create"],
        ["token", "revoke"],
        ["org"],
        ["org", "timezone"],
    ):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    result = runner.invoke(app, ["db", "current", "--db", db])
    assert "empty" in result.output and "needs" in result.output
    assert runner.invoke(app, ["db", "upgrade", "--db", db]).exit_code == 0
    assert "up to date" in runner.invoke(app, ["db", "current", "--db", db]).output


def test_token_create_and_revoke(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    runner.invoke(app, ["db", "upgrade", "--db", db])
    result = runner.invoke(app, ["token", "create", "--user", "7", "--scope", "READ", "--db", db])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert re.fullmatch(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}", token)
    assert runner.invoke(app, ["token", "revoke", token, "--db", db]).exit_code == 0
    again = runner.invoke(app, ["token", "revoke", token, "--db", db])
    assert again.exit_code == 1 and "no such active token" in again.output


def test_org_timezone_is_stored_and_read_by_the_next_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lms_progress.app import create_app
    from lms_progress.settings import Settings

    monkeypatch.delenv("LMS_PROGRESS_TIMEZONE", raising=False)
    db = str(tmp_path / "tz.db")
    assert "time zone: UTC" in runner.invoke(app, ["org", "timezone", "--db", db]).output
    result = runner.invoke(app, ["org", "timezone", "Asia/Kolkata", "--db", db])
    assert result.exit_code == 0 and "time zone: Asia/Kolkata" in result.output
    for name in ("Mars/Olympus_Mons", "localtime", "Factory", "right/UTC", "posixrules"):
        bad = runner.invoke(app, ["org", "timezone", name, "--db", db])
        assert bad.exit_code == 1 and f"unknown time zone {name!r}" in bad.output
    assert "Asia/Kolkata" in runner.invoke(app, ["org", "timezone", "--db", db]).output
    server = create_app(Settings(database_url=f"sqlite:///{db}"))
    assert str(server.state.ctx.zone) == "Asia/Kolkata"
    server.state.ctx.engine.dispose()
    monkeypatch.setenv("LMS_PROGRESS_TIMEZONE", "UTC")
    assert (
        "LMS_PROGRESS_TIMEZONE=UTC is set and wins"
        in runner.invoke(app, ["org", "timezone", "--db", db]).output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "7", "--scope", "WRITE"], "unknown scope"),
        (["--user", "0", "--scope", "READ"], "positive"),
        (["--user", "7", "--scope", "READ", "--expires-in", "0"], "positive"),
    ],
)
def test_token_create_refuses_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    db = str(tmp_path / "t.db")
    runner.invoke(app, ["db", "upgrade", "--db", db])
    result = runner.invoke(app, ["token", "create", *args, "--db", db])
    assert result.exit_code == 1 and message in result.output


@contextlib.contextmanager
def serve_demo(
    *options: str, tmpdir: Path | None = None, stop: signal.Signals = signal.SIGINT
) -> Iterator[tuple[str, str, str]]:
    """`lms-progress serve --demo` as a user runs it; yields (printed curl line, base URL, the
    whole output up to the server's start), and stops it with `stop` (Ctrl-C by default)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_PROGRESS_")}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    process = subprocess.Popen(
        [sys.executable, "-m", "lms_progress", "serve", "--demo", *options, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        curl, output = "", ""
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            output += line
            if line.startswith("curl "):
                curl = line.strip()
            if "Uvicorn running" in line or process.poll() is not None:
                break
        assert curl, "serve --demo printed no curl line"
        yield curl, f"http://127.0.0.1:{port}", output
    finally:
        process.send_signal(stop)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with serve_demo("--db", str(tmp_path / "demo.db")) as (curl, base, _):
        yield curl, base


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_demo_without_db_removes_its_store_when_stopped(
    tmp_path: Path, stop: signal.Signals
) -> None:
    # Ctrl-C, or SIGTERM as systemd, docker stop and kill send it.
    with serve_demo(tmpdir=tmp_path, stop=stop) as (curl, _, output):
        (store_dir,) = tmp_path.glob("lms-progress-demo-*")
        assert (store_dir / "demo.db").is_file()
        assert "removed when the server stops" in output
        assert json.loads(subprocess.run(shlex.split(curl), capture_output=True).stdout)
    assert not store_dir.exists()


def test_serve_demo_prints_a_curl_that_answers_the_seed(demo_server: tuple[str, str]) -> None:
    curl, _ = demo_server
    assert "Authorization: Zoho-oauthtoken 1000." in curl
    result = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=20)
    assert json.loads(result.stdout) == SEED


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
        b"GET /api/v1/learners/" + b"1" * 70_000 + b"/course-progress HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 0123456789\r\n" * 4_000 + b"\r\n",
        # The head is refused once 64 KiB of it has come, not read whole (here 20 MB).
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20_000_000 + b"\r\n\r\n",
    ],
    ids=["garbage", "no colon", "long URL", "long header", "many headers", "huge header"],
)
def test_a_request_the_server_cannot_parse_gets_the_envelope(
    demo_server: tuple[str, str], request_bytes: bytes
) -> None:
    _, base = demo_server
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        with contextlib.suppress(ConnectionError):  # the server may close before all is sent
            sock.sendall(request_bytes)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["code"] == 7201 and json.loads(body)["status"] == "failure"


def test_forty_concurrent_calls_to_a_real_server_give_exactly_thirty(
    demo_server: tuple[str, str],
) -> None:
    curl, base = demo_server
    token = re.search(r"Zoho-oauthtoken (\S+?)'", curl)
    assert token is not None
    headers = {"Authorization": f"Zoho-oauthtoken {token.group(1)}"}
    url = f"{base}/api/v1/learners/100004000000036860/course-progress"

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(client.get(url, headers=headers) for _ in range(40)))

    responses = asyncio.run(burst())
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 30 and statuses.count(429) == 10
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["code"] == 7209 and refused.headers["retry-after"] == "300"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("LMS_PROGRESS_TIMEZONE", "Mars/Olympus", "LMS_PROGRESS_TIMEZONE"),
        ("LMS_PROGRESS_PAGE_SIZE", "0", "LMS_PROGRESS_PAGE_SIZE"),
        ("LMS_PROGRESS_RATE_LIMIT_THRESHOLD", "abc", "LMS_PROGRESS_RATE_LIMIT_THRESHOLD"),
    ],
)
def test_a_bad_setting_is_one_line_not_a_traceback(
    tmp_path: Path, variable: str, value: str, named: str
) -> None:
    env = {**os.environ, variable: value}
    result = subprocess.run(
        [sys.executable, "-m", "lms_progress", "db", "current", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "─" not in result.stderr
    assert result.stderr.startswith("error: bad setting:") and named in result.stderr


def test_an_unreachable_store_is_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LMS_PROGRESS_DATABASE_URL": f"postgresql+psycopg://x@127.0.0.1:{free_port()}/x",
    }
    for args in (["db", "current"], ["db", "upgrade"], ["token", "revoke", "1000.a.b"]):
        result = subprocess.run(
            [sys.executable, "-m", "lms_progress", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert result.returncode == 1, args
        assert "Traceback" not in result.stderr, args
        assert result.stderr.startswith("error: cannot reach the store"), (args, result.stderr)


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("bogus", "not a database URL"),
        ("mysql://x/y", "use sqlite:///PATH or postgresql+psycopg"),
        ("sqlite://", "an in-memory SQLite store keeps nothing"),
        ("sqlite:///:memory:", "an in-memory SQLite store keeps nothing"),
    ],
)
def test_an_unusable_database_url_is_one_line(tmp_path: Path, url: str, named: str) -> None:
    env = {**os.environ, "LMS_PROGRESS_DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "lms_progress", "token", "create", "--user", "1", "--scope", "READ"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: bad setting:") and named in result.stderr


def test_serve_refuses_a_port_out_of_range() -> None:
    result = runner.invoke(app, ["serve", "--port", "99999"])
    assert result.exit_code == 2 and "65535" in result.output


def test_an_empty_time_zone_setting_counts_as_unset(tmp_path: Path) -> None:
    env = {**os.environ, "LMS_PROGRESS_TIMEZONE": ""}
    result = subprocess.run(
        [sys.executable, "-m", "lms_progress", "db", "current", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_import_names_an_unknown_kind(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text("id,name\n1,A\n")
    result = runner.invoke(
        app, ["import", "--db", str(tmp_path / "x.db"), "--kind", "bogus", str(path)]
    )
    assert result.exit_code == 1 and "unknown --kind 'bogus'" in result.output
