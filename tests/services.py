"""The PostgreSQL and Redis servers the tests use, and what happens when one is unreachable.

Outside CI an unreachable server skips its tests with a reason that says so (shown by `-ra`); with
`CI=true` it fails them, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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
