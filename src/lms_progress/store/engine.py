"""Engines: SQLite (embedded default) tuned for a concurrent web server, or PostgreSQL."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

CONNECT_TIMEOUT_SECONDS = 5


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # A checkout pings first, so connections broken by a server restart are replaced, not used.
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        # An unreachable server fails a request in seconds (503), not after the OS's TCP timeout.
        kwargs.setdefault("connect_args", {"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    return create_engine(url, **kwargs)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer commits; NORMAL is durable across process crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # The driver's own implicit BEGIN is switched off: plain DBAPI reads (the hot path) run in
    # autocommit, one consistent statement each, and SQLAlchemy transactions begin below.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Connection) -> None:
    # Transactions through SQLAlchemy are writes. IMMEDIATE takes the write lock up front, so
    # concurrent writers queue on busy_timeout instead of failing on a read-to-write upgrade.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
