"""Reads on the hot path: statements compiled once, run on a pooled DBAPI connection.

SQLAlchemy Core builds and compiles each statement once per dialect; a request then costs one pool
checkout, one `cursor.execute` and plain tuples back, with no per-request statement compilation or
result-row objects.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from lms_progress.errors import ApiError, ErrorCode

log = logging.getLogger(__name__)


class Prepared:
    """A statement compiled for one dialect, with its parameter order."""

    __slots__ = ("_names", "_positional", "sql")

    def __init__(self, statement: ClauseElement, engine: Engine) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self._positional = compiled.positional
        self._names = tuple(compiled.positiontup or ())

    def params(self, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        if self._positional:
            return tuple(values[name] for name in self._names)
        return values


class Reader:
    """Runs prepared reads on one DBAPI connection per thread, held for the thread's life.

    Reads run on the event loop's thread, so in practice one connection serves them all; holding it
    saves a pool checkout and return per query (measured: about a third of a progress read). The
    connection is detached from the pool, in autocommit, so it never sits idle in a transaction.
    A failed read drops the connection and is tried once more on a new one (reads are safe to
    repeat); a second failure is a 503, and the next call connects afresh.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._driver_error: type[Exception] = engine.dialect.loaded_dbapi.Error
        self._local = threading.local()
        self._held: set[Any] = set()
        self._held_lock = threading.Lock()

    def prepare(self, statement: ClauseElement) -> Prepared:
        return Prepared(statement, self.engine)

    def fetch(self, prepared: Prepared, **values: Any) -> list[tuple[Any, ...]]:
        parameters = prepared.params(values)
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            if connection is None or connection not in self._held:
                connection = self._connect()
            try:
                cursor = connection.cursor()
                cursor.execute(prepared.sql, parameters)
                rows = cast("list[tuple[Any, ...]]", cursor.fetchall())
                cursor.close()
                return rows
            except self._driver_error as exc:
                self._drop(connection)
                log.warning("store read failed (attempt %d): %s", attempt, exc)
        raise ApiError(ErrorCode.UNAVAILABLE, "The store is unreachable")

    def _connect(self) -> Any:
        try:
            connection = self.engine.raw_connection()
            if self.engine.dialect.name == "postgresql":
                driver: Any = connection.driver_connection
                driver.rollback()  # the pool's pre-ping may have opened a transaction
                driver.autocommit = True
        except (DBAPIError, PoolTimeout, self._driver_error) as exc:
            # raw_connection() raises the driver's own error (not wrapped) when connecting fails.
            log.warning("store unreachable: %s", getattr(exc, "orig", exc))
            raise ApiError(ErrorCode.UNAVAILABLE, "The store is unreachable") from None
        connection.detach()
        self._local.connection = connection
        with self._held_lock:
            self._held.add(connection)
        return connection

    def _drop(self, connection: Any) -> None:
        self._local.connection = None
        with self._held_lock:
            self._held.discard(connection)
        with contextlib.suppress(Exception):
            connection.close()

    def close(self) -> None:
        """Close every held connection, whichever thread holds it (at shutdown). A thread that
        reads again afterwards connects afresh."""
        with self._held_lock:
            held, self._held = self._held, set()
        for connection in held:
            with contextlib.suppress(Exception):
                connection.close()
