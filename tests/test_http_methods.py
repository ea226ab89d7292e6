"""HEAD answers as GET without the body; a 405 names every method the path serves."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress import demo
from lms_progress.auth.tokens import Operation
from tests.conftest import auth, new_token

L, C = demo.LEARNER_ID, demo.BLENDED_COURSE_ID

GETS = [
    "/healthz",
    "/readyz",
    f"/api/v1/learners/{L}/course-progress",
    f"/api/v1/courses/{C}/learners/{L}/course-progress",
    f"/api/v1/learners/{L}/course-progress?startIndex=abc",
    "/api/v1/learners/123/course-progress",
]


@pytest.mark.parametrize("path", GETS)
def test_head_is_get_without_the_body(
    client: TestClient, demo_store: Engine, read_headers: dict[str, str], path: str
) -> None:
    got = client.get(path, headers=read_headers)
    head = client.head(path, headers=read_headers)
    assert head.status_code == got.status_code
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.content))


def test_head_needs_the_same_token_and_counts_against_the_same_limit(
    client: TestClient, demo_store: Engine
) -> None:
    path = f"/api/v1/learners/{L}/course-progress"
    assert client.head(path).status_code == 401
    headers = auth(new_token(demo_store, Operation.READ, user_id=77))
    for _ in range(15):
        assert client.head(path, headers=headers).status_code == 200
    for _ in range(15):
        assert client.get(path, headers=headers).status_code == 200
    assert client.head(path, headers=headers).status_code == 429
    assert client.get(path, headers=headers).status_code == 429


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/learners/9010", "DELETE, PATCH"),
        ("GET", f"/api/v1/courses/{C}/learners/{L}/enrolment", "DELETE, POST"),
        ("DELETE", f"/api/v1/learners/{L}/course-progress", "GET, HEAD"),
        ("PUT", "/healthz", "GET, HEAD"),
        ("POST", "/readyz", "GET, HEAD"),
    ],
)
def test_405_names_every_method_of_the_path(
    client: TestClient,
    demo_store: Engine,
    read_headers: dict[str, str],
    method: str,
    path: str,
    allowed: str,
) -> None:
    answer = client.request(method, path, headers=read_headers)
    assert answer.status_code == 405
    assert answer.json() == {"code": 7302, "message": "Method not allowed", "status": "failure"}
    assert answer.headers["allow"] == allowed
