"""Threshold and lock (contract section 4), with an injected clock."""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress import demo
from lms_progress.auth.tokens import Operation
from lms_progress.ratelimit.memory import MemoryRateLimiter
from lms_progress.ratelimit.policy import KeyState, Limits, decide
from tests.conftest import FakeClock, auth, new_token

P1 = f"/api/v1/learners/{demo.LEARNER_ID}/course-progress"
P2 = f"/api/v1/courses/{demo.SELF_PACED_COURSE_ID}/learners/{demo.LEARNER_ID}/course-progress"
LOCKED = "API access blocked since threshold limit exceeded. Please try after some time"


def call(client: TestClient, token: str, url: str = P1) -> tuple[int, dict[str, object], str]:
    response = client.get(url, headers=auth(token))
    return response.status_code, response.json(), response.headers.get("retry-after", "")


def test_thirty_accepted_then_locked_for_five_minutes(
    client: TestClient, demo_store: Engine, clock: FakeClock
) -> None:
    token = new_token(demo_store, Operation.READ)
    for i in range(30):
        clock.advance(0.5)
        assert call(client, token)[0] == 200, f"call {i + 1}"
    status, body, retry = call(client, token)
    assert (status, body["code"], body["message"], body["status"]) == (
        429,
        7209,
        LOCKED,
        "failure",
    )
    assert retry == "300"

    clock.advance(61)  # the window has passed, but the lock holds
    status, body, retry = call(client, token)
    assert (status, body["code"], retry) == (429, 7209, "239")

    # Refused calls do not extend the lock.
    for _ in range(20):
        clock.advance(10)
        assert call(client, token)[0] == 429
    clock.advance(300 - 61 - 200 - 0.5)  # 0.5 s before the end of the lock
    status, _, retry = call(client, token)
    assert (status, retry) == (429, "1")  # whole seconds, rounded up
    clock.advance(0.5)

    # Free after the lock, with a fresh budget of 30.
    for i in range(30):
        assert call(client, token)[0] == 200, f"call {i + 1} after the lock"
    assert call(client, token)[0] == 429


def test_sliding_window_counts_any_sixty_seconds(
    client: TestClient, demo_store: Engine, clock: FakeClock
) -> None:
    token = new_token(demo_store, Operation.READ)
    for _ in range(15):
        assert call(client, token)[0] == 200
    clock.advance(40)
    for _ in range(15):
        assert call(client, token)[0] == 200
    clock.advance(20)  # the first 15 are exactly 60 s old: out of the window
    for _ in range(15):
        assert call(client, token)[0] == 200
    assert call(client, token)[0] == 429


def test_other_users_and_other_apis_are_unaffected(
    client: TestClient, demo_store: Engine, clock: FakeClock
) -> None:
    locked = new_token(demo_store, Operation.READ, user_id=1)
    other_user = new_token(demo_store, Operation.READ, user_id=2)
    same_user_other_token = new_token(demo_store, Operation.READ, user_id=1)
    for _ in range(31):
        call(client, locked)
    assert call(client, locked)[0] == 429
    # The limit is per user, not per token.
    assert call(client, same_user_other_token)[0] == 429
    assert call(client, other_user)[0] == 200
    # ... and per API: the single-course form is another API.
    assert call(client, locked, P2)[0] == 200


def test_refused_before_the_limiter_does_not_count(client: TestClient, demo_store: Engine) -> None:
    token = new_token(demo_store, Operation.CREATE, user_id=3)
    for _ in range(40):
        assert call(client, token)[0] == 403


def test_forty_concurrent_calls_give_exactly_thirty() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(Limits(30, 60, 300), clock)
    barrier = threading.Barrier(40)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        decision = limiter.hit_sync("user:api")
        with lock:
            results.append(decision.allowed)

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 30 and results.count(False) == 10


def test_policy_without_a_lock_waits_for_the_window() -> None:
    state, limits = KeyState(), Limits(threshold=2, window=10, lock=0)
    assert decide(state, 0, limits).allowed
    assert decide(state, 1, limits).allowed
    refused = decide(state, 2, limits)
    assert not refused.allowed and refused.retry_after == 8
    assert decide(state, 10, limits).allowed


def test_idle_keys_are_swept() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(Limits(30, 60, 300), clock)
    for i in range(10_000):
        limiter.hit_sync(f"user{i}:api")
    clock.advance(61)
    for _ in range(2):
        for i in range(10_000):
            limiter.hit_sync(f"fresh{i}:api")
    # A pass over the keys starts every 10,000 calls and each call looks at its share: the
    # passes since forgot the idle callers, and only them.
    assert not any(key.startswith("user") for key in limiter._states)
    assert len(limiter._states) == 10_000


def test_a_sweep_is_spread_over_calls() -> None:
    # No call pays for a whole pass: with 60,000 callers that held the event loop for 30 ms.
    clock = FakeClock()
    limiter = MemoryRateLimiter(Limits(30, 60, 300), clock)
    for i in range(10_000):
        limiter.hit_sync(f"user{i}:api")  # the 10,000th call starts a pass
    clock.advance(61)  # every caller is idle now
    limiter.hit_sync("fresh:api")
    assert 9_990 < len(limiter._states) < 10_001  # a few forgotten, not all
