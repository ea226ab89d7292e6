"""Running one write call: one transaction, off the event loop, and its answer.

A write may wait on the store's write lock (SQLite's busy timeout), so it runs in the thread pool,
never on the event loop. Everything the call changes happens in one transaction: an error anywhere
rolls all of it back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lms_progress.context import AppContext
from lms_progress.errors import ApiError, ErrorCode

log = logging.getLogger(__name__)
T = TypeVar("T")


# PostgreSQL's "deadlock detected" and "could not serialize": the transaction was rolled back
# whole and may simply run again. `lock_course` orders the writes' locks so that neither should
# happen; a retry keeps a rare one from reaching the caller as an error.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})
_ATTEMPTS = 3


def in_transaction(ctx: AppContext, work: Callable[[Connection], T]) -> T:
    """Run `work(connection)` in one transaction; store errors become the envelope's codes."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with ctx.engine.begin() as connection:
                return work(connection)
        except DBAPIError as exc:
            if attempt == _ATTEMPTS or getattr(exc.orig, "sqlstate", None) not in _RETRY_SQLSTATES:
                _refuse(ctx, exc)
            log.info("write rolled back by the store, run again (%d): %s", attempt, exc.orig)
    raise AssertionError("unreachable")


def _refuse(ctx: AppContext, exc: DBAPIError) -> NoReturn:
    """The store error as the envelope's code."""
    if isinstance(exc, IntegrityError):
        # Checks run before each insert; a constraint can still fire when two calls race
        # (two enrolments of one learner at once). The loser is told, nothing is half-written.
        log.info("write refused by a constraint: %s", exc.orig)
        raise ApiError(
            ErrorCode.CONFLICT, "The request conflicts with a concurrent change; retry"
        ) from None
    if exc.connection_invalidated or isinstance(
        exc.orig, ctx.engine.dialect.loaded_dbapi.OperationalError
    ):
        log.warning("store unavailable during a write: %s", exc.orig)
        raise ApiError(ErrorCode.UNAVAILABLE, "The store is unreachable or busy") from None
    raise exc


async def transact(ctx: AppContext, work: Callable[[Connection], T]) -> T:
    """Run `work(connection)` in one transaction in the thread pool."""
    return await run_in_threadpool(in_transaction, ctx, work)


def success(ids: Mapping[str, int | str | bool | None], message: str = "success") -> Response:
    """The LMS envelope of a write: Zoho's `"code": "200"` and ids as strings, as Zoho's other
    LMS endpoints write them, plus `"status": "success"` like our error envelope."""
    body: dict[str, Any] = {"code": "200", "message": message, "status": "success"}
    for key, value in ids.items():
        if isinstance(value, bool):
            body[key] = value
        else:
            body[key] = "" if value is None else str(value)
    return Response(orjson.dumps(body), media_type="application/json")
