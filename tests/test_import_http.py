"""`POST /api/v1/import/{kind}`: the bulk import for integrations."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress.app import create_app
from lms_progress.auth.tokens import Operation
from lms_progress.settings import Settings
from tests.conftest import FakeClock, auth, new_token
from tests.import_support import dump

LEARNERS = "id,name\n9001,Ada\n9002,Grace\n"
COURSES = '{"id": 9101, "name": "Course", "type": 1}\n'
CSV = {"Content-Type": "text/csv"}
JSONL = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
def create_headers(engine: Engine) -> dict[str, str]:
    return auth(new_token(engine, Operation.CREATE))


def post(client: TestClient, kind: str, body: str, headers: dict[str, str], **params: str) -> dict:
    response = client.post(f"/api/v1/import/{kind}", content=body, headers=headers, params=params)
    result: dict = response.json()
    result["http"] = response.status_code
    return result


def test_imports_csv_and_jsonl_bodies(
    client: TestClient, engine: Engine, create_headers: dict[str, str]
) -> None:
    learners = post(client, "learners", LEARNERS, {**create_headers, **CSV})
    assert learners["http"] == 200
    assert learners["status"] == "success"
    assert learners["import"]["records"]["learners"] == {"read": 2, "added": 2, "present": 0}
    courses = post(client, "courses", COURSES, {**create_headers, **JSONL})
    assert courses["import"]["records"]["courses"]["added"] == 1
    again = post(client, "learners", LEARNERS, {**create_headers, **CSV})
    assert again["import"]["records"]["learners"] == {"read": 2, "added": 0, "present": 2}
    assert {row[0] for row in dump(engine)["learners"]} == {9001, 9002}


def test_all_scope_may_import(client: TestClient, engine: Engine) -> None:
    headers = {**auth(new_token(engine, Operation.ALL, user_id=5)), **CSV}
    assert post(client, "learners", LEARNERS, headers)["http"] == 200


def test_bad_rows_answer_422_with_every_row_and_write_nothing(
    client: TestClient, engine: Engine, create_headers: dict[str, str]
) -> None:
    before = dump(engine)
    body = LEARNERS + "9003,\nx,Someone\n9001,Ada again\n"
    result = post(client, "learners", body, {**create_headers, **CSV})
    assert result["http"] == 422
    assert (result["code"], result["status"]) == (7221, "failure")
    assert result["message"] == "3 bad rows: nothing was written"
    assert [(e["line"], e["reason"]) for e in result["errors"]] == [
        (4, "name is required"),
        (5, "id must be an integer (got 'x')"),
        (6, "learner 9001 is given twice in this import"),
    ]
    assert dump(engine) == before


def test_check_only_writes_nothing(
    client: TestClient, engine: Engine, create_headers: dict[str, str]
) -> None:
    before = dump(engine)
    result = post(client, "learners", LEARNERS, {**create_headers, **CSV}, check="true")
    assert (result["http"], result["checkedOnly"]) == (200, True)
    assert dump(engine) == before


def test_an_empty_csv_body_is_a_bad_file_not_an_empty_import(
    client: TestClient, engine: Engine, create_headers: dict[str, str]
) -> None:
    """Without a header row nothing says what the body holds: 422, never "imported nothing"."""
    for check in ("false", "true"):
        result = post(client, "learners", "", {**create_headers, **CSV}, check=check)
        assert (result["http"], result["code"]) == (422, 7221), result
        [error] = result["errors"]
        assert (error["file"], error["line"]) == ("body (learners)", 1)
        assert error["reason"].startswith("no header row: the file is empty"), error


@pytest.mark.parametrize(
    ("content_type", "body", "lines"),
    [
        # CSV: the bad byte on line 5 (and a bad row after it, still found).
        (CSV, b"id,name\n9001,Ada\n9002,Grace\n9003,Alan\n9004,Bad \xff byte\n9005,\n", [5, 6]),
        (JSONL, b'{"id": 9001, "name": "Ada"}\n{"id": 9002, "name": "\xe9"}\n', [2]),
    ],
)
def test_a_byte_that_is_not_utf8_is_reported_at_its_own_line(
    client: TestClient,
    engine: Engine,
    create_headers: dict[str, str],
    content_type: dict[str, str],
    body: bytes,
    lines: list[int],
) -> None:
    before = dump(engine)
    response = client.post(
        "/api/v1/import/learners", content=body, headers={**create_headers, **content_type}
    )
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["line"] for e in errors] == lines, errors
    assert "byte 0x" in errors[0]["reason"] and "not UTF-8" in errors[0]["reason"], errors
    assert dump(engine) == before


@pytest.mark.parametrize("operation", [Operation.READ, Operation.UPDATE, Operation.DELETE])
def test_other_scopes_are_refused(client: TestClient, engine: Engine, operation: Operation) -> None:
    headers = {**auth(new_token(engine, operation, user_id=7)), **CSV}
    before = dump(engine)
    result = post(client, "learners", LEARNERS, headers)
    assert (result["http"], result["code"]) == (403, 7218)
    assert dump(engine) == before


def test_unknown_kind_and_format_are_400(
    client: TestClient, create_headers: dict[str, str]
) -> None:
    unknown = post(client, "people", LEARNERS, {**create_headers, **CSV})
    assert (unknown["http"], unknown["code"]) == (400, 7201)
    assert "learners" in unknown["message"]
    no_format = post(client, "learners", LEARNERS, {**create_headers, "Content-Type": "text/plain"})
    assert (no_format["http"], no_format["code"]) == (400, 7201)
    by_query = post(
        client, "learners", LEARNERS, {**create_headers, "Content-Type": "text/plain"}, format="csv"
    )
    assert by_query["http"] == 200


@pytest.fixture
def small_app(settings: Settings, clock: FakeClock) -> Iterator[FastAPI]:
    app = create_app(settings.model_copy(update={"import_max_bytes": 64}), clock=clock)
    yield app
    app.state.ctx.engine.dispose()


def test_a_body_over_the_limit_is_413(small_app: FastAPI) -> None:
    engine: Engine = small_app.state.ctx.engine
    headers = {**auth(new_token(engine, Operation.CREATE)), **CSV}
    before = dump(engine)
    big = LEARNERS + "".join(f"{9100 + i},Learner {i}\n" for i in range(10))
    with TestClient(small_app, raise_server_exceptions=False) as client:
        declared = post(client, "learners", big, headers)
        assert (declared["http"], declared["code"], declared["status"]) == (413, 7305, "failure")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for line in big.splitlines(keepends=True):
                yield line.encode()

        streamed = client.post("/api/v1/import/learners", content=chunks(), headers=headers)
        assert streamed.status_code == 413
        assert orjson.loads(streamed.content)["code"] == 7305
        assert post(client, "learners", LEARNERS, headers)["http"] == 200
    assert len(dump(engine)["learners"]) == len(before["learners"]) + 2
