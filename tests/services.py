"""The PostgreSQL and Redis servers the tests use, and what happens when one is unreachable.

Outside CI an unreachable server skips its tests with a reason that says so (shown by `-ra`); with
`CI=true` it fails them, so CI never passes by skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

# Servers for the tests: an existing database to connect to (tests create their own next to it).
POSTGRES_URL = os.environ.get(
    "LMS_PROGRESS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LMS_PROGRESS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable(what: str, url: str, error: BaseException) -> None:
    """Skip (outside CI) or fail (in CI) the current test: `what` at `url` is unreachable."""
    where = make_url(url).render_as_string(hide_password=True) if "://" in url else url
    reason = f"{what} unreachable at {where}: {type(error).__name__}: {error}"
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the tests need it)", pytrace=False)
    pytest.skip(f"SKIPPED, NOT TESTED: {reason} (start it, or set CI=true to fail instead)")


def admin_engine(url: str = POSTGRES_URL) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


class PostgresDatabase:
    """One database per test session, created next to POSTGRES_URL's; one schema per test."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"lms_progress_test_{uuid.uuid4().hex[:12]}"
        self.url = make_url(server_url).set(database=self.name)
        self._admin = admin_engine(server_url)
        self._engine: Engine | None = None

    def create(self) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        self._engine = admin_engine(self.url.render_as_string(hide_password=False))

    def drop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()

    @contextmanager
    def schema(self) -> Iterator[str]:
        """A fresh, empty schema; yields a URL whose connections use it (search_path)."""
        assert self._engine is not None
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self._engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        url = self.url.update_query_dict({"options": f"-csearch_path={name}"})
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            with self._engine.connect() as connection:
                # A connection a test leaked inside a transaction must not hang the session;
                # the database is dropped (with its schemas) at the end anyway.
                connection.execute(text("SET lock_timeout = '5s'"))
                connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))


def redis_reachable(url: str = REDIS_URL) -> BaseException | None:
    """None when a Redis server answers PING at `url`, else the error."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return exc
    finally:
        client.close()
    return None


def delete_redis_keys(prefix: str, url: str = REDIS_URL) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout} s")
        time.sleep(0.05)


def postgres_bin() -> Path | None:
    """The installed PostgreSQL's server programs (initdb, pg_ctl), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    if shutil.which("pg_config"):
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if bindir and (Path(bindir) / "pg_ctl").exists():
            return Path(bindir)
    return None


class ThrowawayPostgres:
    """A PostgreSQL server of the test's own (initdb into a temporary directory, another port),
    to stop and start at will. initdb refuses to run as root: then it runs as `postgres`."""

    def __init__(self) -> None:
        bindir = postgres_bin()
        if bindir is None:
            raise FileNotFoundError("no PostgreSQL server programs (pg_ctl, initdb) found")
        self._bin = bindir
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="lms-progress-pg-"))
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.directory / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_user, str(self._bin / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stdout}{result.stderr}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class ThrowawayRedis:
    """A Redis server of the test's own on a free port, without persistence."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self._directory)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(lambda: redis_reachable(self.url) is None, "redis-server", timeout=10)

    def pause(self, paused: bool = True) -> None:
        """Freeze the server (it keeps its connections but answers nothing), or thaw it."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP if paused else signal.SIGCONT)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
