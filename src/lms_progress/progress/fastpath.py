"""An ASGI fast path for the progress reads (P1, P2), in front of the framework and its
middleware (see `LmsApp` in app.py).

FastAPI's routing, dependency solving and request objects cost more per call than the whole
progress answer (measured: a bare FastAPI route serves about 0.4x the requests of a raw ASGI app on
the same server). These GETs are the product's hot path, so this layer matches their three path
shapes itself and answers through exactly the same code as the routes: `admit` (token, scope, rate
limit) and `service` (parameters, one query, rendering). Everything else, and any path it does not
recognise, goes on to FastAPI, whose routes for the same paths stay the OpenAPI description.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.types import Scope, Send

from lms_progress.auth.tokens import Operation
from lms_progress.context import AppContext
from lms_progress.errors import ApiError, ErrorCode, error_body
from lms_progress.http.guard import admit
from lms_progress.progress import service

log = logging.getLogger("lms_progress")

_JSON = (b"content-type", b"application/json")


def _route(path: str) -> tuple[str, list[str]] | None:
    """The route template and path parameters for a progress path, or None."""
    parts = path.split("/")
    n = len(parts)
    if n < 6 or parts[1] != "api" or parts[2] != "v1" or parts[-1] != "course-progress":
        return None
    if not all(parts[1:]):
        return None  # an empty segment: leave it to the router (404)
    if n == 6 and parts[3] == "learners":
        return service.P1, [parts[4]]
    if n == 8 and parts[3] == "courses" and parts[5] == "learners":
        return service.P2_COURSE, [parts[4], parts[6]]
    if n == 10 and parts[3] == "courses" and parts[5] == "batches" and parts[7] == "learners":
        return service.P2_BATCH, [parts[4], parts[6], parts[8]]
    return None


class ProgressFastPath:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def handle(self, scope: Scope, send: Send) -> bool:
        """Answer the call if it is a progress read; False to leave it to the framework."""
        if scope["type"] == "http" and scope["method"] == "GET":
            route = _route(scope["path"])
            if route is not None:
                await self._serve(scope, send, *route)
                return True
        return False

    async def _serve(self, scope: Scope, send: Send, template: str, args: list[str]) -> None:
        ctx = self.ctx
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        raw_query: bytes = scope["query_string"]
        # As Starlette reads it: latin-1 bytes, percent-escapes as UTF-8, the last value wins.
        query = dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
        extra: dict[str, str] | None = None
        try:
            await admit(ctx, authorization, Operation.READ, template)
            start = query.get("startIndex")
            if template == service.P1:
                body = service.learner_progress(ctx, args[0], start)
            else:
                batch = args[1] if template == service.P2_BATCH else None
                body = service.course_progress(
                    ctx, args[-1], args[0], batch, start, query.get("progressType")
                )
            status = 200
        except ApiError as exc:
            status, body, extra = (
                exc.error.http_status,
                error_body(exc.error, exc.message),
                exc.headers,
            )
        except Exception:
            log.exception("unexpected error on GET %s", scope["path"])
            status, body = 500, error_body(ErrorCode.SERVER_ERROR)
        headers = [_JSON, (b"content-length", str(len(body)).encode())]
        if extra:
            headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
