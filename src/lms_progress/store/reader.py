"""Reads on the hot path: statements compiled once, run on a pooled DBAPI connection.

SQLAlchemy Core builds and compiles each statement once per dialect; a request then costs one pool
checkout, one `cursor.execute` and plain tuples back, with no per-request statement compilation or
result-row objects.
"""

from __future__ import annotations

import logging
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
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._driver_error: type[Exception] = engine.dialect.loaded_dbapi.Error

    def prepare(self, statement: ClauseElement) -> Prepared:
        return Prepared(statement, self.engine)

    def fetch(self, prepared: Prepared, **values: Any) -> list[tuple[Any, ...]]:
        try:
            connection = self.engine.raw_connection()
        except (DBAPIError, PoolTimeout, self._driver_error) as exc:
            # raw_connection() raises the driver's own error (not wrapped) when connecting fails.
            log.warning("store unreachable: %s", getattr(exc, "orig", exc))
            raise ApiError(ErrorCode.UNAVAILABLE, "The store is unreachable") from None
        try:
            cursor = connection.cursor()
            cursor.execute(prepared.sql, prepared.params(values))
            rows = cast("list[tuple[Any, ...]]", cursor.fetchall())
            cursor.close()
        except self._driver_error as exc:
            # A broken connection must not go back to the pool.
            connection.invalidate()
            log.warning("store read failed: %s", exc)
            raise ApiError(ErrorCode.UNAVAILABLE, "The store is unreachable") from None
        finally:
            connection.close()
        return rows
