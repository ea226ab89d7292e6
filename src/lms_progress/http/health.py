"""Health probes for load balancers and orchestrators: no token, no rate limit, no data.

`/healthz`: the process is up and serving. `/readyz`: it can also reach the store and, when
configured, Redis; otherwise 503 (7503) in the error envelope, saying which one is unreachable.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from sqlalchemy import literal_column, select
from starlette.requests import Request
from starlette.responses import Response

from lms_progress.context import AppContext

router = APIRouter(tags=["health"])

_UNAVAILABLE: dict[int | str, dict[str, str]] = {
    503: {"description": "The store or Redis is unreachable (7503)"}
}


@router.get("/healthz", summary="The process is up")
async def healthz() -> Response:
    return Response(orjson.dumps({"status": "ok"}), media_type="application/json")


@router.get("/readyz", summary="The store and Redis are reachable", responses=_UNAVAILABLE)
async def readyz(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    # Each raises ApiError(UNAVAILABLE), rendered as the 503 envelope, when it cannot answer.
    ctx.reader.fetch(ctx.reader.prepare(select(literal_column("1"))))
    await ctx.limiter.ping()
    return Response(orjson.dumps({"status": "ready"}), media_type="application/json")
