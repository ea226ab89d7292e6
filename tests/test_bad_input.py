"""Bad input gets a 4xx in the error envelope, never a 500 (contract sections 1 and 5)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress import demo

L = demo.LEARNER_ID
C = demo.SELF_PACED_COURSE_ID


def check(response: object, status: int, code: int) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == code and body["status"] == "failure" and body["message"]
    assert "Traceback" not in response.text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("-1", 7201),
        ("abc", 7204),
        ("1.5", 7204),
        ("1e3", 7204),
        (str(10**20), 7201),
        ("9223372036854775808", 7201),
        (" 1", 7204),
        ("+1", 7204),
        ("\uff10", 7204),  # a full-width digit zero
        ("0x10", 7204),
    ],
)
def test_bad_start_index(
    client: TestClient, demo_store: Engine, read_headers: dict[str, str], start: str, code: int
) -> None:
    url = f"/api/v1/learners/{L}/course-progress"
    check(client.get(url, params={"startIndex": start}, headers=read_headers), 400, code)


def test_largest_start_index_is_past_the_end(
    client: TestClient, demo_store: Engine, read_headers: dict[str, str]
) -> None:
    url = f"/api/v1/learners/{L}/course-progress?startIndex=9223372036854775807"
    body = client.get(url, headers=read_headers).json()
    assert body["courseProgress"] == [] and body["hasMoreRecords"] is False


@pytest.mark.parametrize(
    ("learner", "status", "code"),
    [
        ("abc", 400, 7204),
        ("12a", 400, 7204),
        ("1.0", 400, 7204),
        ("-5", 400, 7201),
        ("0", 400, 7201),
        ("9223372036854775808", 400, 7201),
        ("1" * 40, 400, 7201),
        ("%F0%9F%98%80", 400, 7204),
        ("123", 404, 7301),  # well formed, unknown
    ],
)
def test_bad_learner_id(
    client: TestClient,
    demo_store: Engine,
    read_headers: dict[str, str],
    learner: str,
    status: int,
    code: int,
) -> None:
    check(client.get(f"/api/v1/learners/{learner}/course-progress", headers=read_headers),
          status, code)  # fmt: skip


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        (f"/api/v1/courses/x/learners/{L}/course-progress", {}, 400, 7204),
        (f"/api/v1/courses/{C}/learners/{L}/course-progress", {"progressType": "2"}, 400, 7201),
        (f"/api/v1/courses/{C}/learners/{L}/course-progress", {"progressType": "x"}, 400, 7204),
        (f"/api/v1/courses/{C}/batches/-1/learners/{L}/course-progress", {}, 400, 7201),
        (f"/api/v1/courses/{C}/batches/b/learners/{L}/course-progress", {}, 400, 7204),
        (f"/api/v1/courses/{C}/learners/{L}/course-progress", {"startIndex": "-3"}, 400, 7201),
    ],
)
def test_bad_single_course_input(
    client: TestClient,
    demo_store: Engine,
    read_headers: dict[str, str],
    path: str,
    params: dict[str, str],
    status: int,
    code: int,
) -> None:
    check(client.get(path, params=params, headers=read_headers), status, code)


def test_unknown_path_and_method(
    client: TestClient, demo_store: Engine, read_headers: dict[str, str]
) -> None:
    check(client.get("/api/v1/nothing-here", headers=read_headers), 404, 7301)
    check(client.get(f"/api/v1/learners/{L}/course-progress/", headers=read_headers), 404, 7301)
    check(client.post("/api/v1/courses/", headers=read_headers), 404, 7301)
    check(client.delete(f"/api/v1/learners/{L}/course-progress", headers=read_headers), 405, 7302)


def test_bad_input_checked_after_auth(client: TestClient, demo_store: Engine) -> None:
    # Without a token nothing about the request is revealed.
    check(client.get("/api/v1/learners/abc/course-progress"), 401, 7210)
