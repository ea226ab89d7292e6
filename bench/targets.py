"""The yardsticks the seed endpoint is measured against, served by uvicorn exactly like the real
server (`uvicorn --factory bench.targets:raw`, `... bench.targets:bare`).

Both answer a fixed JSON body of `LMS_BENCH_BODY_BYTES` bytes (the mean size of the seed answers
being measured), so that only the work behind the answer differs.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


def body(size: int | None = None) -> bytes:
    """A JSON object of exactly `size` bytes."""
    size = size if size is not None else int(os.environ.get("LMS_BENCH_BODY_BYTES", "1500"))
    frame = b'{"padding":""}'
    return frame[:-2] + b"x" * max(size - len(frame), 0) + frame[-2:]


def raw() -> ASGIApp:
    """The ceiling: an ASGI app that sends fixed bytes, as the progress fast path sends its answer
    (two messages, the same headers)."""
    answer = body()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    message = {"type": "http.response.body", "body": answer}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send(start)
        await send(message)

    return app


def bare() -> FastAPI:
    """The framework's own smallest endpoint: one FastAPI route at the seed endpoint's path,
    returning the fixed bytes."""
    answer = body()
    app = FastAPI()

    @app.get("/api/v1/learners/{learner_id}/course-progress")
    async def progress(learner_id: str) -> Response:
        return Response(answer, media_type="application/json")

    return app
