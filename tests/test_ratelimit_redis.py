"""The Redis rate limiter applies exactly the rule of ratelimit/policy.py, on a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress import demo
from lms_progress.app import create_app
from lms_progress.auth.tokens import Operation
from lms_progress.ratelimit.base import Decision
from lms_progress.ratelimit.policy import KeyState, Limits, decide
from lms_progress.ratelimit.redis import RedisRateLimiter, connect, retry_after_micros
from lms_progress.settings import Settings
from tests import services
from tests.conftest import auth, new_token

T = TypeVar("T")
P1 = f"/api/v1/learners/{demo.LEARNER_ID}/course-progress"
SECOND = 1_000_000


def run(prefix: str, limits: Limits, body: Callable[[RedisRateLimiter], Awaitable[T]]) -> T:
    async def main() -> T:
        limiter = RedisRateLimiter(connect(services.REDIS_URL, timeout=2), limits, prefix)
        try:
            return await body(limiter)
        finally:
            await limiter.aclose()

    return asyncio.run(main())


steps = st.lists(
    st.tuples(st.integers(0, 3 * SECOND), st.sampled_from(["a", "b"])), min_size=1, max_size=60
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    threshold=st.integers(1, 5),
    window=st.integers(1 * SECOND, 5 * SECOND),
    lock=st.sampled_from([0, 1, SECOND, 2 * SECOND, 7 * SECOND + 1]),
    calls=steps,
)
def test_the_script_decides_exactly_as_the_policy(
    redis_prefix: str,
    threshold: int,
    window: int,
    lock: int,
    calls: list[tuple[int, str]],
) -> None:
    """Same calls at the same instants (replayed in microseconds): same decisions and waits."""
    run_id = uuid.uuid4().hex  # fresh keys for every example (the prefix is per test)
    limits_us = Limits(threshold=threshold, window=window, lock=lock)
    limits = Limits(threshold=threshold, window=window / SECOND, lock=lock / SECOND)
    states: dict[str, KeyState] = {}
    expected: list[Decision] = []
    now = 1_700_000_000 * SECOND
    instants = []
    for advance, key in calls:
        now += advance
        instants.append((now, key))
        decision = decide(states.setdefault(key, KeyState()), float(now), limits_us)
        # Policy in microseconds: its "whole seconds" are microseconds; convert like the backend.
        expected.append(
            decision
            if decision.allowed
            else Decision(False, retry_after_micros(decision.retry_after))
        )

    async def body(limiter: RedisRateLimiter) -> list[Decision]:
        return [await limiter.hit_at(f"{run_id}:{key}", at) for at, key in instants]

    assert run(redis_prefix, limits, body) == expected


def test_forty_concurrent_calls_give_exactly_thirty(redis_prefix: str) -> None:
    async def body(limiter: RedisRateLimiter) -> list[Decision]:
        return await asyncio.gather(*(limiter.hit("u:api") for _ in range(40)))

    decisions = run(redis_prefix, Limits(30, 60, 300), body)
    assert sum(d.allowed for d in decisions) == 30
    assert {d.retry_after for d in decisions if not d.allowed} == {300}


def test_real_clock_lock_then_fresh_budget(redis_prefix: str) -> None:
    async def body(limiter: RedisRateLimiter) -> tuple[list[Decision], list[Decision]]:
        first = [await limiter.hit("u:api") for _ in range(4)]
        await asyncio.sleep(1.05)
        return first, [await limiter.hit("u:api") for _ in range(4)]

    first, after = run(redis_prefix, Limits(3, 60, 1), body)
    assert [d.allowed for d in first] == [True, True, True, False]
    assert first[3].retry_after == 1
    # The lock is over and the budget fresh, although the window (60 s) has not passed.
    assert [d.allowed for d in after] == [True, True, True, False]


def test_keys_expire_so_memory_follows_active_callers(redis_prefix: str) -> None:
    async def body(limiter: RedisRateLimiter) -> None:
        for _ in range(3):
            await limiter.hit("u:api")
        await limiter.hit("v:api")

    run(redis_prefix, Limits(2, 10, 30), body)
    client = redis.Redis.from_url(services.REDIS_URL)
    try:
        keys = {k.decode(): client.pttl(k) for k in client.scan_iter(match=f"{redis_prefix}*")}
    finally:
        client.close()
    # u is locked: its log is gone and its lock expires just after the lock's 30 s.
    lock_keys = [k for k in keys if k.endswith(":lock")]
    log_keys = [k for k in keys if k.endswith(":log")]
    assert len(lock_keys) == 1 and "u:api" in lock_keys[0]
    assert 29_000 < keys[lock_keys[0]] <= 30_001
    # v has one accepted call: its log expires when the window (10 s) has passed.
    assert len(log_keys) == 1 and "v:api" in log_keys[0]
    assert 9_000 < keys[log_keys[0]] <= 10_001


def test_the_app_uses_redis_when_configured(
    tmp_path: pytest.TempPathFactory, redis_prefix: str
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/test.db",
        timezone="UTC",
        redis_url=services.REDIS_URL,
        redis_key_prefix=redis_prefix,
        rate_limit_threshold=3,
    )
    app = create_app(settings)
    engine: Engine = app.state.ctx.engine
    with engine.begin() as connection:
        demo.load(connection)
    token = new_token(engine, Operation.READ)
    try:
        with TestClient(app) as client:
            statuses = [client.get(P1, headers=auth(token)).status_code for _ in range(4)]
            refused = client.get(P1, headers=auth(token))
        # A second app (another process) sees the same lock.
        with TestClient(create_app(settings)) as other:
            elsewhere = other.get(P1, headers=auth(token))
    finally:
        engine.dispose()
    assert statuses == [200, 200, 200, 429]
    assert refused.json()["code"] == 7209 and 290 < int(refused.headers["retry-after"]) <= 300
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (429, 7209)
