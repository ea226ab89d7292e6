"""Where a write call's JSON object may come from (query, form, JSON body), and its limits."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from lms_progress.auth.tokens import Operation
from lms_progress.http.body import MAX_BODY_BYTES
from lms_progress.store.schema import courses
from tests.writes_support import dump, headers

COURSE = {"name": "Blended Learning7!@#$%^&()--+=;;:\"',.?/|\\{}[] ü 学", "type": 2}


def stored(engine: Engine, course_id: str) -> tuple[str, int]:
    with engine.connect() as c:
        row = c.execute(
            select(courses.c.name, courses.c.type).where(courses.c.id == int(course_id))
        )
        name, kind = row.one()
    return name, kind


@pytest.mark.parametrize(
    "how",
    ["query", "form", "json wrapped", "json wrapped string", "json plain", "text/plain body"],
)
def test_the_object_comes_from_the_query_a_form_or_a_json_body(
    client: TestClient, engine: Engine, how: str
) -> None:
    auth = headers(engine, Operation.CREATE)
    text = json.dumps(COURSE)
    sent = {
        "query": lambda: client.post("/api/v1/courses", params={"courseData": text}, headers=auth),
        "form": lambda: client.post("/api/v1/courses", data={"courseData": text}, headers=auth),
        "json wrapped": lambda: client.post(
            "/api/v1/courses", json={"courseData": COURSE}, headers=auth
        ),
        "json wrapped string": lambda: client.post(
            "/api/v1/courses", json={"courseData": text}, headers=auth
        ),
        "json plain": lambda: client.post("/api/v1/courses", json=COURSE, headers=auth),
        "text/plain body": lambda: client.post(
            "/api/v1/courses",
            content=text.encode(),
            headers={**auth, "content-type": "text/plain"},
        ),
    }[how]()
    assert sent.status_code == 200, sent.text
    # Names come back exactly as given: any punctuation, any script, never escaped.
    assert stored(engine, sent.json()["courseId"]) == (COURSE["name"], 2)


def test_unknown_keys_are_ignored(client: TestClient, engine: Engine) -> None:
    auth = headers(engine, Operation.CREATE)
    data = {**COURSE, "aboutCourse": "x", "permissionSettings": {"whoCanEnroll": ["admin"]}}
    response = client.post("/api/v1/courses", json={"courseData": data}, headers=auth)
    assert response.status_code == 200


def test_ids_are_kept_exactly_to_64_bits(client: TestClient, engine: Engine) -> None:
    auth = headers(engine, Operation.CREATE)
    for given in (2**63 - 1, str(2**63 - 2), 1):
        response = client.post("/api/v1/courses", json={**COURSE, "id": given}, headers=auth)
        assert response.json()["courseId"] == str(given)
        assert stored(engine, str(given))[1] == 2


def test_generated_ids_have_18_digits(client: TestClient, engine: Engine) -> None:
    auth = headers(engine, Operation.CREATE)
    ids = {
        client.post("/api/v1/courses", json=COURSE, headers=auth).json()["courseId"]
        for _ in range(5)
    }
    assert len(ids) == 5 and all(len(i) == 18 and i.isdigit() for i in ids)


REFUSED = {
    "in the query and the body": (
        {"params": {"courseData": json.dumps(COURSE)}, "json": {"courseData": COURSE}},
        400,
        7201,
    ),
    "twice in the query": (
        {"params": [("courseData", json.dumps(COURSE)), ("courseData", json.dumps(COURSE))]},
        400,
        7201,
    ),
    "twice in a form": (
        {"data": {"courseData": [json.dumps(COURSE), json.dumps(COURSE)]}},
        400,
        7201,
    ),
    "form without it": ({"data": {"other": "1"}}, 400, 7202),
    "multipart form": ({"files": {"courseData": ("c.json", json.dumps(COURSE))}}, 400, 7203),
    "form not UTF-8": (
        {
            "content": b"courseData=%7B%22name%22%3A%22\xff%22%7D",
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        },
        400,
        7203,
    ),
    "lone surrogate": ({"content": b'{"name": "\\ud800", "type": 1}'}, 400, 7203),
    "integer beyond 64 bits": ({"content": b'{"name": "n", "type": 1, "id": 1e400}'}, 400, 7203),
    "declared too large": (
        {"content": b"{}", "headers": {"content-length": str(MAX_BODY_BYTES + 1)}},
        413,
        7305,
    ),
}


@pytest.mark.parametrize("kwargs", REFUSED.values(), ids=list(REFUSED))
def test_ambiguous_or_unreadable_objects_are_refused(
    client: TestClient, engine: Engine, kwargs: tuple[dict[str, object], int, int]
) -> None:
    shared, status, code = kwargs
    request = dict(shared)  # the parameters are shared by every run: never change them
    auth = headers(engine, Operation.CREATE)
    before = dump(engine)
    extra_headers = request.pop("headers", {})
    assert isinstance(extra_headers, dict)
    response = client.post(
        "/api/v1/courses",
        headers={**auth, **extra_headers},
        **request,  # type: ignore[arg-type]
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert dump(engine) == before


def test_a_body_just_under_the_limit_is_read(client: TestClient, engine: Engine) -> None:
    auth = headers(engine, Operation.CREATE)
    padding = "p" * (MAX_BODY_BYTES - 200)
    body = json.dumps({**COURSE, "aboutCourse": padding}).encode()
    assert len(body) <= MAX_BODY_BYTES
    assert client.post("/api/v1/courses", content=body, headers=auth).status_code == 200


REPEATED = {
    "the data object": ('{"courseData": {"name": "a", "type": 1}, "courseData": {"name": "b"}}',
                        "The request body", "courseData"),
    "a key of the data object": ('{"courseData": {"name": "a", "type": 1, "name": "b"}}',
                                 "The request body", "name"),
    "a key of the object itself": ('{"name": "a", "type": 1.5, "name": "b"}',
                                   "The request body", "name"),
    "a key in the wrapped string": ('{"courseData": "{\\"name\\": \\"a\\", \\"type\\": 1, '
                                    '\\"type\\": 2}"}', "courseData", "type"),
    "a key in an ignored object": ('{"name": "a", "type": 1, "permissionSettings": '
                                   '{"who": 1, "who": 2}}', "The request body", "who"),
}  # fmt: skip


def refused_naming(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["code"], body["message"]) == (7201, message)


@pytest.mark.parametrize(("raw", "what", "key"), REPEATED.values(), ids=list(REPEATED))
def test_a_repeated_key_in_a_json_body_is_refused_naming_it(
    client: TestClient, engine: Engine, raw: str, what: str, key: str
) -> None:
    # orjson alone keeps the last value silently: {"name": "a", "name": "b"} would store "b".
    auth = headers(engine, Operation.CREATE)
    before = dump(engine)
    response = client.post("/api/v1/courses", content=raw.encode(), headers=auth)
    refused_naming(response, f'{what} gives "{key}" more than once')
    assert dump(engine) == before


@pytest.mark.parametrize("source", ["params", "data"])
def test_a_repeated_key_in_the_query_or_a_form_is_refused_naming_it(
    client: TestClient, engine: Engine, source: str
) -> None:
    auth = headers(engine, Operation.CREATE)
    before = dump(engine)
    sent = {source: {"courseData": '{"name": "a", "type": 1, "name": "b"}'}}
    response = client.post("/api/v1/courses", headers=auth, **sent)  # type: ignore[arg-type]
    refused_naming(response, 'courseData gives "name" more than once')
    assert dump(engine) == before


@pytest.mark.parametrize(
    ("body", "others"),
    [
        ({"courseData": {"name": "T", "type": 1}, "name": "x"}, "name"),
        ({"courseData": json.dumps(COURSE), "type": 1, "aboutCourse": "a"}, "aboutCourse, type"),
        ({**COURSE, "courseData": {}}, "name, type"),
    ],
)
def test_the_wrapper_with_other_keys_beside_it_is_refused(
    client: TestClient, engine: Engine, body: dict[str, object], others: str
) -> None:
    # Read as the object itself, {"courseData": {...}, "name": "x"} lost the wrapped fields.
    auth = headers(engine, Operation.CREATE)
    before = dump(engine)
    response = client.post("/api/v1/courses", json=body, headers=auth)
    refused_naming(
        response,
        f"The request body has keys beside courseData ({others}): "
        "send courseData alone, or the object itself without courseData",
    )
    assert dump(engine) == before


@pytest.mark.parametrize("bad", ["%FF", "%ED%A0%80", "%C3"])
@pytest.mark.parametrize("source", ["query", "form"])
def test_percent_encoded_bytes_that_are_not_utf8_are_refused(
    client: TestClient, engine: Engine, bad: str, source: str
) -> None:
    # URL decoding replaced them with U+FFFD, stored as the course's name.
    auth = headers(engine, Operation.CREATE)
    before = dump(engine)
    encoded = f"courseData=%7B%22name%22%3A%22{bad}%22%2C%22type%22%3A1%7D"
    if source == "query":
        response = client.post(f"/api/v1/courses?{encoded}", headers=auth)
    else:
        form = {**auth, "content-type": "application/x-www-form-urlencoded"}
        response = client.post("/api/v1/courses", content=encoded.encode(), headers=form)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 7203
    assert response.json()["message"] == "courseData is not UTF-8"
    assert dump(engine) == before


def test_percent_encoded_utf8_is_read(client: TestClient, engine: Engine) -> None:
    auth = headers(engine, Operation.CREATE)
    encoded = "courseData=%7B%22name%22%3A%22%C3%BC+%E5%AD%A6%22%2C%22type%22%3A1%7D"
    response = client.post(f"/api/v1/courses?{encoded}", headers=auth)
    assert response.status_code == 200, response.text
    assert stored(engine, response.json()["courseId"]) == ("ü 学", 1)
