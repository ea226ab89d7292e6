"""The bulk import over HTTP: `POST /api/v1/import/{kind}` with a CSV or JSON Lines body.

The body is spooled to a temporary file as it arrives (refused with 413 past the size limit), then
imported exactly as `lms-progress import` does, in a worker thread: all or nothing, idempotent.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

import orjson
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from lms_progress.errors import ApiError, ErrorCode
from lms_progress.http.guard import CreateAccess, context
from lms_progress.importer.load import Report, Source, StoreUnavailable, import_sources
from lms_progress.importer.records import KINDS

router = APIRouter()

# Kept in memory up to this size, then on disk.
_SPOOL_BYTES = 1024 * 1024
_MEDIA_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json-lines": "jsonl",
    "application/x-jsonlines": "jsonl",
}
# Bad rows listed in a 422 answer; the count in the message is always complete.
MAX_LISTED_ERRORS = 1000


@router.post("/api/v1/import/{kind}")
async def import_records(kind: str, request: Request, _principal: CreateAccess) -> Response:
    ctx = context(request)
    record_kind = KINDS.get(kind)
    if record_kind is None:
        raise ApiError(
            ErrorCode.INVALID_PARAMETER, f"unknown kind {kind!r}: one of {', '.join(KINDS)}"
        )
    fmt = _format(request)
    check = _flag(request.query_params.get("check", "false"))
    limit = ctx.settings.import_max_bytes
    body = await _spool(request, limit)
    try:
        body.seek(0)
        source = Source(f"body ({kind})", record_kind, fmt, lambda: _Unclosed(body))
        report = await run_in_threadpool(
            import_sources,
            ctx.engine,
            [source],
            zone=ctx.zone,
            now=int(ctx.wall_clock()),
            dry_run=check,
        )
    except StoreUnavailable as exc:
        raise ApiError(ErrorCode.UNAVAILABLE, f"{exc}: retry") from None
    finally:
        body.close()
    return _answer(report, check)


def _format(request: Request) -> str:
    given = request.query_params.get("format")
    if given is not None:
        if given not in ("csv", "jsonl"):
            raise ApiError(ErrorCode.INVALID_PARAMETER, "format must be csv or jsonl")
        return given
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in _MEDIA_TYPES:
        return _MEDIA_TYPES[media]
    raise ApiError(
        ErrorCode.INVALID_PARAMETER,
        "say the body's format: Content-Type text/csv or application/x-ndjson, or ?format=",
    )


def _flag(text: str) -> bool:
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise ApiError(ErrorCode.INVALID_PARAMETER, "check must be true or false (or 1 or 0)")


async def _spool(request: Request, limit: int) -> IO[bytes]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            body.write(chunk)
    except BaseException:
        body.close()
        raise
    return body


def _too_large(limit: int) -> ApiError:
    return ApiError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"The import is larger than {limit} bytes: split it, or use `lms-progress import`",
    )


class _Unclosed:
    """The spooled body as the reader's stream; closing it is left to the endpoint."""

    def __init__(self, body: IO[bytes]) -> None:
        self._body = body

    def __enter__(self) -> IO[bytes]:
        return self._body

    def __exit__(self, *_exc: object) -> None:
        return None


def _answer(report: Report, check: bool) -> Response:
    result = report.as_dict()
    if report.errors:
        errors = result.pop("errors")
        body: dict[str, Any] = {
            "code": ErrorCode.VALIDATION_FAILED.code,
            "message": f"{len(errors)} bad rows: nothing was written",
            "status": "failure",
            "errors": errors[:MAX_LISTED_ERRORS],
        }
        return Response(orjson.dumps(body), status_code=422, media_type="application/json")
    body = {"code": 200, "status": "success", "checkedOnly": check, "import": result}
    return Response(orjson.dumps(body), media_type="application/json")
