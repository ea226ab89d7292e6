"""Redis and PostgreSQL go away and come back: clean 503s in the envelope, then recovery without a
restart. Both servers are the test's own (started and stopped here), never the shared ones."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from lms_progress import demo
from lms_progress.app import create_app
from lms_progress.auth.tokens import Operation
from lms_progress.settings import Settings
from lms_progress.store import migrate
from lms_progress.store.engine import make_engine
from tests import services
from tests.conftest import auth, new_token

P1 = f"/api/v1/learners/{demo.LEARNER_ID}/course-progress"
P2 = f"/api/v1/courses/{demo.SELF_PACED_COURSE_ID}/learners/{demo.LEARNER_ID}/course-progress"
ENTITY = 100004000000036830  # of the self-paced course, not completed in the demo store
COMPLETE = f"/api/v1/learners/{demo.LEARNER_ID}/entities/{ENTITY}/completion"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[services.ThrowawayPostgres]:
    try:
        server = services.ThrowawayPostgres()
        server.init()
        server.start()
    except (OSError, RuntimeError) as exc:
        services.unavailable("A PostgreSQL server of the test's own", "initdb/pg_ctl", exc)
    yield server
    server.remove()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[services.ThrowawayRedis]:
    server = services.ThrowawayRedis(tmp_path)
    try:
        server.start()
    except (OSError, TimeoutError) as exc:
        services.unavailable("A Redis server of the test's own", "redis-server", exc)
    yield server
    server.stop()


def assert_unavailable(response: object, what: str) -> None:
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert response.json() == {  # type: ignore[attr-defined]
        "code": 7503,
        "message": f"The {what} is unreachable",
        "status": "failure",
    }


def test_outages_give_503_then_the_service_recovers_by_itself(
    own_postgres: services.ThrowawayPostgres,
    own_redis: services.ThrowawayRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = make_engine(own_postgres.url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        demo.load(connection)
    reader = auth(new_token(engine, Operation.READ, user_id=1))
    writer = auth(new_token(engine, Operation.CREATE, user_id=2))
    engine.dispose()
    settings = Settings(
        database_url=own_postgres.url,
        redis_url=own_redis.url,
        redis_timeout_seconds=1,
        timezone="UTC",
    )
    app = create_app(settings)
    caplog.set_level(logging.WARNING)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get(P1, headers=reader).status_code == 200

            # Redis down: the limit cannot be applied, so the call is refused (fail closed).
            own_redis.stop()
            assert_unavailable(client.get(P1, headers=reader), "rate-limit store")
            assert_unavailable(client.get("/readyz"), "rate-limit store")
            assert client.get("/healthz").status_code == 200
            assert "rate limit store unavailable" in caplog.text

            own_redis.start()  # same port, empty: the budget starts afresh
            assert client.get(P1, headers=reader).status_code == 200
            assert client.get("/readyz").status_code == 200

            # PostgreSQL down: reads (the token lookup first) and writes get 503.
            own_postgres.stop()
            assert_unavailable(client.get(P1, headers=reader), "store")
            write = client.post(COMPLETE, headers=writer)
            assert (write.status_code, write.json()["code"]) == (503, 7503)
            assert "Traceback" not in write.text
            assert_unavailable(client.get("/readyz"), "store")
            assert client.get("/healthz").status_code == 200

            own_postgres.start()
            assert client.get(P1, headers=reader).status_code == 200
            assert client.post(COMPLETE, headers=writer).status_code == 200
            assert (
                client.get(P2, headers=reader).json()["courseProgress"][0]["completedEntitiesCount"]
                == 1
            )
            assert client.get("/readyz").status_code == 200
    finally:
        app.state.ctx.engine.dispose()


def test_a_hung_redis_is_a_503_within_the_timeout(
    tmp_path: Path, own_redis: services.ThrowawayRedis
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/test.db",
        redis_url=own_redis.url,
        redis_timeout_seconds=0.5,
        timezone="UTC",
    )
    app = create_app(settings)
    engine = app.state.ctx.engine
    with engine.begin() as connection:
        demo.load(connection)
    reader = auth(new_token(engine, Operation.READ))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get(P1, headers=reader).status_code == 200
            own_redis.pause()
            # Thawed after 5 s whatever happens, so a missing timeout fails the test, not hangs it.
            thaw = threading.Timer(5, own_redis.pause, args=(False,))
            thaw.start()
            try:
                started = time.monotonic()
                assert_unavailable(client.get(P1, headers=reader), "rate-limit store")
                assert time.monotonic() - started < 2  # the timeout, not the thaw
            finally:
                thaw.cancel()
                own_redis.pause(False)
            assert client.get(P1, headers=reader).status_code == 200
    finally:
        engine.dispose()
