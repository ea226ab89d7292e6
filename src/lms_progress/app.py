"""The application factory."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.types import Message, Receive, Scope, Send

from lms_progress import __version__
from lms_progress.auth.tokens import TokenAuthenticator
from lms_progress.catalog.endpoints import router as catalog_router
from lms_progress.context import AppContext
from lms_progress.http import handlers, openapi
from lms_progress.http.health import router as health_router
from lms_progress.importer.endpoints import router as import_router
from lms_progress.learning.endpoints import router as learning_router
from lms_progress.progress.endpoints import router as progress_router
from lms_progress.progress.fastpath import ProgressFastPath
from lms_progress.progress.repository import ProgressRepository
from lms_progress.ratelimit.base import RateLimiter
from lms_progress.ratelimit.memory import MemoryRateLimiter
from lms_progress.ratelimit.policy import Limits
from lms_progress.settings import Settings
from lms_progress.store import migrate
from lms_progress.store.engine import make_engine
from lms_progress.store.organisation import organisation_timezone
from lms_progress.store.reader import Reader


class LmsApp(FastAPI):
    """FastAPI, with the progress reads answered before the framework's middleware and routing
    (progress/fastpath.py says why)."""

    fast_path: ProgressFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope, send = _as_get(scope, send)
        if self.fast_path is not None and await self.fast_path.handle(scope, send):
            return
        await super().__call__(scope, receive, send)


def _as_get(scope: Scope, send: Send) -> tuple[Scope, Send]:
    """HEAD is GET without the body (RFC 9110): the same status and headers, for every GET
    path (monitors probe /healthz with HEAD). FastAPI's routes answer GET only."""

    async def headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return {**scope, "method": "GET"}, headers_only


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    limiter: RateLimiter | None = None,
    clock: Callable[[], float] | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> FastAPI:
    """Build the app. `clock` drives the in-process rate limiter (tests inject a fake one)."""
    settings = settings or Settings()
    engine = engine or make_engine(settings.database_url)
    if settings.is_sqlite:
        # The embedded store keeps itself up to date; a server store is migrated by its operator.
        migrate.upgrade(engine)
    reader = Reader(engine)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        reader=reader,
        zone=ZoneInfo(settings.timezone or organisation_timezone(engine)),
        limiter=limiter or make_limiter(settings, clock),
        authenticator=TokenAuthenticator(reader, settings.token_cache_seconds),
        progress=ProgressRepository(reader),
        wall_clock=wall_clock,
    )
    app = LmsApp(
        lifespan=lifespan,
        # A trailing slash is another path (404 in the envelope), not a bodiless redirect.
        redirect_slashes=False,
        title="lms-progress",
        version=__version__,
        description="Learner progress, wire-compatible with Zoho People's LMS API.",
    )
    app.state.ctx = ctx
    handlers.install(app)
    openapi.install(app)
    routers = (progress_router, catalog_router, learning_router, health_router, import_router)
    for router in routers:
        app.include_router(router)
    # Every route, flat (the 405 handler names all methods of a path from it).
    app.state.routes = [route for router in routers for route in router.routes]
    if settings.fast_path:
        app.fast_path = ProgressFastPath(ctx)
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await app.state.ctx.limiter.aclose()
    app.state.ctx.reader.close()


def make_limiter(settings: Settings, clock: Callable[[], float] | None = None) -> RateLimiter:
    """Redis when configured (shared by all processes), else in-process (exact in this one)."""
    if settings.redis_url:
        from lms_progress.ratelimit import redis

        client = redis.connect(settings.redis_url, timeout=settings.redis_timeout_seconds)
        return redis.RedisRateLimiter(client, limits_of(settings), settings.redis_key_prefix)
    return MemoryRateLimiter(limits_of(settings), clock or time.monotonic)


def limits_of(settings: Settings) -> Limits:
    return Limits(
        threshold=settings.rate_limit_threshold,
        window=settings.rate_limit_window_seconds,
        lock=settings.rate_limit_lock_seconds,
    )


def factory() -> FastAPI:
    """Entry point for `uvicorn --factory lms_progress.app:factory` (settings from the env)."""
    return create_app()
