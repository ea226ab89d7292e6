"""Every error leaves as the JSON envelope: our own, the framework's, and the unexpected."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from lms_progress.errors import ApiError, ErrorCode, error_response

log = logging.getLogger("lms_progress")

_BY_STATUS = {
    400: ErrorCode.MALFORMED_BODY,
    401: ErrorCode.TOKEN_INVALID,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    422: ErrorCode.VALIDATION_FAILED,
}


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = _BY_STATUS.get(exc.status_code, ErrorCode.SERVER_ERROR)
    message = "Unknown path" if exc.status_code == 404 else None
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return error_response(error, message, headers or None)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. (The router names only the methods of the
    first route whose path matched; a path's GET, PATCH and DELETE are often separate routes.)"""
    methods: set[str] = set()
    for route in request.app.state.routes:
        if isinstance(route, BaseRoute) and route.matches(request.scope)[0] is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    if "GET" in methods:
        methods.add("HEAD")  # LmsApp answers HEAD for every GET
    return sorted(methods)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body",))
    detail = first.get("msg", "invalid input")
    return error_response(ErrorCode.INVALID_PARAMETER, f"{where}: {detail}" if where else detail)


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    # The store is down, restarting, or (SQLite) locked past its busy timeout. SQLAlchemy has
    # already dropped broken connections from the pool, so the next request reconnects.
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    log.warning("store unavailable on %s %s: %s", request.method, request.url.path, cause)
    return error_response(ErrorCode.UNAVAILABLE, "The store is unreachable")


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(ErrorCode.SERVER_ERROR)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for store_error in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(store_error, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected)
