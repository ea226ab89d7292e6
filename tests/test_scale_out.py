"""Several server processes sharing PostgreSQL and Redis behave as one service: one rate limit,
one store. The servers are real `lms-progress serve` processes on their own ports."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lms_progress import demo
from lms_progress.auth.tokens import Operation
from lms_progress.cli import app as cli
from lms_progress.store.engine import make_engine
from tests import services
from tests.conftest import auth, new_token

P1 = f"/api/v1/learners/{demo.LEARNER_ID}/course-progress"
P2 = f"/api/v1/courses/{demo.SELF_PACED_COURSE_ID}/learners/{demo.LEARNER_ID}/course-progress"
ENTITY = 100004000000036830  # of the self-paced course, not completed in the demo store
COMPLETE = f"/api/v1/learners/{demo.LEARNER_ID}/entities/{ENTITY}/completion"
LOCK_SECONDS = 4


class Server:
    """`lms-progress serve` in its own process (its log in `directory`)."""

    def __init__(self, directory: Path, env: dict[str, str], workers: int = 1) -> None:
        self.port = services.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = directory / f"server-{self.port}.log"
        command = [sys.executable, "-m", "lms_progress", "serve", "--port", str(self.port)]
        command += ["--workers", str(workers)]
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(
                command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
            )

    def up(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"server exited:\n{self._log.read_text()}")
        try:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def servers(
    tmp_path: Path, postgres_url: str, redis_prefix: str
) -> Iterator[tuple[list[Server], dict[str, str]]]:
    """Three servers (the third with two worker processes) on one PostgreSQL schema and one
    Redis, with the demo store and tokens for two readers and a writer."""
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        demo.load(connection)
    tokens = {
        "reader": new_token(engine, Operation.READ, user_id=1),
        "other": new_token(engine, Operation.READ, user_id=2),
        "writer": new_token(engine, Operation.CREATE, user_id=3),
    }
    engine.dispose()
    env = {
        "LMS_PROGRESS_DATABASE_URL": postgres_url,
        "LMS_PROGRESS_REDIS_URL": services.REDIS_URL,
        "LMS_PROGRESS_REDIS_KEY_PREFIX": redis_prefix,
        "LMS_PROGRESS_RATE_LIMIT_LOCK_SECONDS": str(LOCK_SECONDS),
        "LMS_PROGRESS_TIMEZONE": "UTC",
    }
    running = [Server(tmp_path, env), Server(tmp_path, env), Server(tmp_path, env, workers=2)]
    try:
        for server in running:
            services.wait_until(server.up, f"server on port {server.port}")
        yield running, tokens
    finally:
        for server in running:
            server.stop()


async def burst(urls: list[str], token: str, calls: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=calls)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        return await asyncio.gather(
            *(client.get(urls[i % len(urls)] + P1, headers=auth(token)) for i in range(calls))
        )


def test_three_processes_share_one_limit_and_one_store(
    servers: tuple[list[Server], dict[str, str]],
) -> None:
    running, tokens = servers
    urls = [server.url for server in running]

    # 100 concurrent calls of one user, spread over the three servers.
    started = time.monotonic()
    responses = asyncio.run(burst(urls, tokens["reader"], 100))
    ended = time.monotonic()  # the lock began before this, and ends before ended + LOCK_SECONDS
    assert ended - started < LOCK_SECONDS  # so every call of the burst fell inside it
    accepted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert (len(accepted), len(refused)) == (30, 70)
    assert {r.json()["code"] for r in refused} == {7209}
    assert all(1 <= int(r.headers["retry-after"]) <= LOCK_SECONDS for r in refused)
    # Each server got its share, so the count really was shared.
    assert {r.url.port for r in accepted} == {server.port for server in running}

    # The lock is seen by all three; another user is not affected by it.
    for url in urls:
        locked = httpx.get(url + P1, headers=auth(tokens["reader"]))
        assert (locked.status_code, locked.json()["code"]) == (429, 7209), url
        assert httpx.get(url + P1, headers=auth(tokens["other"])).status_code == 200, url

    # A completion written through one process is seen in the next read through another.
    before = httpx.get(urls[0] + P2, headers=auth(tokens["other"])).json()
    assert before["courseProgress"][0]["completedEntitiesCount"] == 0
    written = httpx.post(urls[1] + COMPLETE, headers=auth(tokens["writer"]))
    assert written.status_code == 200, written.text
    after = httpx.get(urls[2] + P2, headers=auth(tokens["other"])).json()
    assert after["courseProgress"][0]["completedEntitiesCount"] == 1

    # After the lock, every server accepts the user again.
    time.sleep(max(0.0, ended + LOCK_SECONDS + 0.2 - time.monotonic()))
    for url in urls:
        assert httpx.get(url + P1, headers=auth(tokens["reader"])).status_code == 200, url


def test_serve_refuses_several_workers_without_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LMS_PROGRESS_REDIS_URL", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "x.db"), "--workers", "2"])
    assert result.exit_code == 1
    assert "LMS_PROGRESS_REDIS_URL" in result.output
    assert not (tmp_path / "x.db").exists()  # refused before touching anything


def test_serve_says_so_when_the_store_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    port = services.free_port()  # nothing listens there
    monkeypatch.setenv("LMS_PROGRESS_DATABASE_URL", f"postgresql+psycopg://u@127.0.0.1:{port}/x")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1
    assert "cannot reach the store" in result.output
    assert "Traceback" not in result.output
