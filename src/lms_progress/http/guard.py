"""The request guard: token, scope, then the rate limit, as one dependency per operation.

Endpoints declare what they need in their signature (`principal: ReadAccess`). The guard is async,
so FastAPI runs it on the event loop without a thread-pool hop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from lms_progress.auth.tokens import Operation, Principal
from lms_progress.context import AppContext
from lms_progress.errors import ApiError, ErrorCode


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


async def admit(
    ctx: AppContext, authorization: str | None, operation: Operation, api: str
) -> Principal:
    """Token, then scope, then the rate limit for `api` (a route template): the caller's
    principal, or an ApiError (401, 403, 429). Shared by the routes and the progress fast path."""
    principal = ctx.authenticator.authenticate(authorization, ctx.wall_clock())
    if not principal.allows(operation):
        raise ApiError(
            ErrorCode.INVALID_SCOPE,
            f"Invalid OAuth scope: this call needs ZOHOPEOPLE.training.{operation.value}",
        )
    # Per user and per API, the API being the route template (not the concrete path).
    decision = await ctx.limiter.hit(f"{principal.user_id}:{api}")
    if not decision.allowed:
        raise ApiError(
            ErrorCode.THRESHOLD_LOCKED, headers={"Retry-After": str(decision.retry_after)}
        )
    return principal


def require(operation: Operation) -> Callable[[Request], Awaitable[Principal]]:
    async def guard(request: Request) -> Principal:
        return await admit(
            request.app.state.ctx,
            request.headers.get("authorization"),
            operation,
            request.scope["route"].path,
        )

    guard.__name__ = f"require_{operation.value.lower()}"
    return guard


ReadAccess = Annotated[Principal, Depends(require(Operation.READ))]
CreateAccess = Annotated[Principal, Depends(require(Operation.CREATE))]
UpdateAccess = Annotated[Principal, Depends(require(Operation.UPDATE))]
DeleteAccess = Annotated[Principal, Depends(require(Operation.DELETE))]
