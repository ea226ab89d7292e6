"""The progress fast path answers exactly as the framework's routes do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress import demo
from lms_progress.app import create_app
from lms_progress.auth.tokens import Operation
from lms_progress.progress.fastpath import _route
from lms_progress.settings import Settings
from tests.conftest import FakeClock, auth, new_token

L, C, B = demo.LEARNER_ID, demo.BLENDED_COURSE_ID, demo.BATCH_ID
S = demo.SELF_PACED_COURSE_ID
URLS = [
    f"/api/v1/learners/{L}/course-progress",
    f"/api/v1/learners/{L}/course-progress?startIndex=1",
    f"/api/v1/learners/{L}/course-progress?startIndex=0&startIndex=5",
    f"/api/v1/learners/{L}/course-progress?startIndex=",
    f"/api/v1/learners/{L}/course-progress?startIndex=%2D1",
    f"/api/v1/learners/{L}/course-progress?startIndex=abc",
    f"/api/v1/learners/{L}/course-progress?other=1",
    "/api/v1/learners/abc/course-progress",
    "/api/v1/learners/%F0%9F%98%80/course-progress",
    "/api/v1/learners/123/course-progress",
    f"/api/v1/courses/{C}/learners/{L}/course-progress",
    f"/api/v1/courses/{C}/learners/{L}/course-progress?progressType=1",
    f"/api/v1/courses/{C}/learners/{L}/course-progress?progressType=7",
    f"/api/v1/courses/{C}/batches/{B}/learners/{L}/course-progress",
    f"/api/v1/courses/{S}/batches/0/learners/{L}/course-progress",
    f"/api/v1/courses/{C}/batches/1/learners/{L}/course-progress",
    f"/api/v1/courses/1/learners/{L}/course-progress",
]


@pytest.fixture
def both(settings: Settings, demo_store: Engine) -> Iterator[tuple[TestClient, TestClient]]:
    fast = create_app(settings.model_copy(update={"fast_path": True}), clock=FakeClock())
    slow = create_app(settings.model_copy(update={"fast_path": False}), clock=FakeClock())
    assert fast.fast_path is not None and slow.fast_path is None  # type: ignore[attr-defined]
    with TestClient(fast) as a, TestClient(slow) as b:
        yield a, b
    for app in (fast, slow):
        app.state.ctx.engine.dispose()


@pytest.mark.parametrize("url", URLS)
def test_same_answers(both: tuple[TestClient, TestClient], demo_store: Engine, url: str) -> None:
    fast, slow = both
    for headers in (auth(new_token(demo_store, Operation.READ)), {}, {"Authorization": "x"}):
        a, b = fast.get(url, headers=headers), slow.get(url, headers=headers)
        assert (a.status_code, a.content) == (b.status_code, b.content), (url, headers)
        assert a.headers["content-type"] == b.headers["content-type"] == "application/json"


def test_same_lock(both: tuple[TestClient, TestClient], demo_store: Engine) -> None:
    url = f"/api/v1/learners/{L}/course-progress"
    for client in both:
        headers = auth(new_token(demo_store, Operation.READ))
        statuses = [client.get(url, headers=headers).status_code for _ in range(31)]
        assert statuses == [200] * 30 + [429]
        refused = client.get(url, headers=headers)
        assert refused.headers["retry-after"] == "300" and refused.json()["code"] == 7209


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/learners//course-progress",
        "/api/v1/learners/1/course-progress/",
        "/api/v2/learners/1/course-progress",
        "/api/v1/learners/1/2/course-progress",
        "/api/v1/courses/1/modules/2/learners/3/course-progress",
        "/api/v1/learners/1/progress",
    ],
)
def test_other_paths_are_left_to_the_framework(path: str) -> None:
    assert _route(path) is None


def test_writes_and_other_methods_are_left_to_the_framework(
    both: tuple[TestClient, TestClient], demo_store: Engine
) -> None:
    fast, slow = both
    url = f"/api/v1/learners/{L}/course-progress"
    for method in ("POST", "DELETE", "HEAD"):
        a, b = fast.request(method, url), slow.request(method, url)
        assert (a.status_code, a.content) == (b.status_code, b.content), method
