"""Ids from the path of a write call, and the time of the call."""

from __future__ import annotations

from starlette.requests import Request

from lms_progress.context import AppContext
from lms_progress.errors import ApiError, ErrorCode
from lms_progress.http import params
from lms_progress.validation import Refused
from lms_progress.validation import not_in_future as _not_in_future


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def path_id(request: Request, name: str) -> int:
    return params.path_id(request.path_params[name], name)


def batch_id(request: Request) -> int | None:
    """The path's batch, None for the path form without one. Zoho: batch 0 stands for "no
    batch" where a path needs one."""
    text = request.path_params.get("batchId")
    if text is None or text == "0":
        return None
    return params.path_id(text, "batchId")


def now(ctx: AppContext) -> int:
    return int(ctx.wall_clock())


def not_in_future(ctx: AppContext, instant: int | None, name: str) -> int:
    """An instant given for past data, or now; never later than now."""
    current = now(ctx)
    if instant is None:
        return current
    try:
        return _not_in_future(instant, current)
    except Refused as exc:
        raise ApiError(ErrorCode.VALIDATION_FAILED, f"{name} {exc}") from None
