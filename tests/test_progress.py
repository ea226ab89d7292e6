"""P1 and P2 over HTTP: paging, field rules on stored data, the single-course forms."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress.app import create_app
from lms_progress.catalog import repository as catalog
from lms_progress.learning import repository as learning
from lms_progress.settings import Settings
from tests import builders as b
from tests.conftest import FakeClock, auth, new_token


def page(client: TestClient, headers: dict[str, str], learner: int, start: int = 0) -> Any:
    response = client.get(
        f"/api/v1/learners/{learner}/course-progress",
        params={"startIndex": start},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def enrol_in_many(engine: Engine, learner: int, n: int, same_day: bool = False) -> list[int]:
    courses = []
    for i in range(n):
        cid, _, _ = b.course(engine, 1)
        when = b.at(2024, 1, 1) if same_day else b.at(2024, 1, 1) + i * 3600
        b.enrol(engine, learner, cid, when)
        courses.append(cid)
    return courses


@pytest.mark.parametrize("n", [0, 1, 24, 25, 26, 50, 51])
def test_paging_by_page_size(
    client: TestClient, engine: Engine, read_headers: dict[str, str], n: int
) -> None:
    learner = b.learner(engine)
    courses = enrol_in_many(engine, learner, n)
    expected = list(reversed(courses))  # newest enrolment first
    seen: list[int] = []
    start = 0
    while True:
        body = page(client, read_headers, learner, start)
        rows = body["courseProgress"]
        assert len(rows) <= 25
        seen += [r["courseId"] for r in rows]
        # hasMoreRecords is true exactly when rows exist after this page.
        assert body["hasMoreRecords"] is (start + len(rows) < n)
        if not body["hasMoreRecords"]:
            break
        start += len(rows)
    assert seen == expected
    past = page(client, read_headers, learner, max(n, 1) + 10)
    assert past["courseProgress"] == [] and past["hasMoreRecords"] is False


def test_ties_are_ordered_by_course_id_and_adding_rows_keeps_the_order(
    client: TestClient, engine: Engine, read_headers: dict[str, str]
) -> None:
    learner = b.learner(engine)
    courses = enrol_in_many(engine, learner, 30, same_day=True)

    def order() -> list[int]:
        return [
            r["courseId"]
            for start in (0, 25)
            for r in page(client, read_headers, learner, start)["courseProgress"]
        ]

    assert order() == sorted(courses)
    # New enrolments (older, newer, same day) never reorder the existing rows.
    before = order()
    for when in (b.at(2023, 6, 1), b.at(2025, 1, 1), b.at(2024, 1, 1)):
        cid, _, _ = b.course(engine, 1)
        b.enrol(engine, learner, cid, when)
        after = order()
        assert [c for c in after if c in before] == before
        before = after


def test_learner_without_enrolments_and_unknown_learner(
    client: TestClient, engine: Engine, read_headers: dict[str, str]
) -> None:
    learner = b.learner(engine, name="Ünïcødé <b>&</b> 名前")
    body = page(client, read_headers, learner)
    assert body["courseProgress"] == [] and body["hasMoreRecords"] is False
    assert body["learnerName"] == "Ünïcødé <b>&</b> 名前"
    assert body["learnerImageURL"] == ""
    assert body["learnerId"] == str(learner)
    response = client.get("/api/v1/learners/777/course-progress", headers=read_headers)
    assert response.status_code == 404 and response.json()["code"] == 7301


def row_of(client: TestClient, headers: dict[str, str], learner: int) -> dict[str, Any]:
    rows = page(client, headers, learner)["courseProgress"]
    assert len(rows) == 1
    return dict(rows[0])


def test_zero_entities(client: TestClient, engine: Engine, read_headers: dict[str, str]) -> None:
    learner = b.learner(engine)
    cid, _, _ = b.course(engine, 0)
    b.enrol(engine, learner, cid, b.at(2024, 2, 29))
    row = row_of(client, read_headers, learner)
    assert row["totalEntitiesCount"] == 0 and row["completedEntitiesCount"] == 0
    assert row["completionPercentage"] == 0
    assert row["completionStatus"] == "Yet to start"
    assert row["enrolledDate"] == "29-Feb-2024"
    assert row["completedIn"] == "" and row["completionDate"] == ""


def test_progress_through_to_completion(
    client: TestClient, engine: Engine, read_headers: dict[str, str]
) -> None:
    learner = b.learner(engine)
    cid, _, entities = b.course(engine, 3, name="Three")
    b.enrol(engine, learner, cid, b.at(2024, 3, 1, 9))
    row = row_of(client, read_headers, learner)
    assert (row["completionStatus"], row["completionPercentage"]) == ("Yet to start", 0)

    assert b.complete(engine, learner, entities[0], b.at(2024, 3, 1, 18)) is True
    assert b.complete(engine, learner, entities[0], b.at(2024, 3, 9)) is False  # idempotent
    row = row_of(client, read_headers, learner)
    assert row["completedEntitiesCount"] == 1 and row["completionPercentage"] == 33
    assert (row["completionStatus"], row["completedIn"]) == ("In progress", "1 days")

    b.complete(engine, learner, entities[1], b.at(2024, 3, 5))
    row = row_of(client, read_headers, learner)
    assert (row["completionPercentage"], row["completedIn"]) == (66, "5 days")
    assert row["completionDate"] == ""

    b.complete(engine, learner, entities[2], b.at(2024, 3, 10))
    row = row_of(client, read_headers, learner)
    assert row["completionStatus"] == "Completed"
    assert (row["completionPercentage"], row["completedEntitiesCount"]) == (100, 3)
    assert (row["completionDate"], row["completedIn"]) == ("10-Mar-2024", "10 days")
    assert row["batchId"] == "" and row["batchName"] == "" and row["type"] == 1


def test_started_course_without_completions_is_in_progress(
    client: TestClient, engine: Engine, read_headers: dict[str, str]
) -> None:
    learner = b.learner(engine)
    cid, _, _ = b.course(engine, 2)
    b.enrol(engine, learner, cid, b.at(2024, 1, 1))
    with engine.begin() as c:
        learning.start(c, learner_id=learner, course_id=cid, at=b.at(2024, 1, 2))
    row = row_of(client, read_headers, learner)
    assert (row["completionStatus"], row["completedIn"]) == ("In progress", "")


def test_admin_completion_and_evaluation(
    client: TestClient, engine: Engine, read_headers: dict[str, str]
) -> None:
    learner = b.learner(engine)
    cid, _, _ = b.course(engine, 4, course_type=3)
    b.enrol(engine, learner, cid, b.at(2024, 1, 1))
    with engine.begin() as c:
        learning.mark_complete(c, learner_id=learner, course_id=cid, at=b.at(2024, 1, 3))
        learning.evaluate(
            c, learner_id=learner, course_id=cid, awarded="87.50", maximum=100.0, at=0
        )
    row = row_of(client, read_headers, learner)
    assert row["completionStatus"] == "Completed"
    assert (row["completionPercentage"], row["completionDate"]) == (0, "03-Jan-2024")
    # Nothing was completed by the learner, but the enrolment is complete: days to its completion.
    assert row["completedIn"] == "3 days"
    assert (row["managerEvaluationTotalMarks"], row["managerEvaluationMarks"]) == ("87.5", "100")
    assert (row["type"], row["courseType"]) == (3, "E-material")


def test_eighteen_and_nineteen_digit_ids_are_exact(
    client: TestClient, engine: Engine, read_headers: dict[str, str]
) -> None:
    big = 2**63 - 1  # 9223372036854775807: not representable as a float
    learner = b.learner(engine, learner_id=big)
    cid, bid, _ = b.course(engine, 1, course_type=2, course_id=big - 1)
    b.enrol(engine, learner, cid, b.at(2024, 1, 1), batch_id=bid)
    response = client.get(f"/api/v1/learners/{big}/course-progress", headers=read_headers)
    assert f'"courseId":{big - 1}' in response.text
    assert f'"learnerId":"{big}"' in response.text
    row = response.json()["courseProgress"][0]
    assert row["batchId"] == bid and row["batchName"] == "Batch" and row["type"] == 2


def test_blended_totals_count_course_and_batch_entities(
    client: TestClient, engine: Engine, read_headers: dict[str, str]
) -> None:
    from lms_progress.catalog import repository as catalog

    learner = b.learner(engine)
    cid, bid, _ = b.course(engine, 2, course_type=2)  # two entities in the batch
    with engine.begin() as c:
        other = catalog.create_batch(c, course_id=cid, name="Other", now=0)
        course_module = catalog.create_module(c, course_id=cid, name="Shared", now=0)
        catalog.create_entity(c, module_id=course_module, entity_type=6, name="Link", now=0)
        other_module = catalog.create_module(c, course_id=cid, batch_id=other, name="X", now=0)
        catalog.create_entity(c, module_id=other_module, entity_type=6, name="Not ours", now=0)
    b.enrol(engine, learner, cid, b.at(2024, 1, 1), batch_id=bid)
    assert row_of(client, read_headers, learner)["totalEntitiesCount"] == 3


def zone_app(settings: Settings, clock: FakeClock, zone: str) -> FastAPI:
    return create_app(settings.model_copy(update={"timezone": zone}), clock=clock)


def test_dates_are_taken_in_the_organisation_time_zone(
    settings: Settings, clock: FakeClock, engine: Engine
) -> None:
    learner = b.learner(engine)
    cid, _, entities = b.course(engine, 2)
    # 23:30 UTC on 31 Dec is already 1 Jan in Berlin.
    b.enrol(engine, learner, cid, b.at(2023, 12, 31, 23, 30))
    b.complete(engine, learner, entities[0], b.at(2024, 1, 1, 22, 59))
    b.complete(engine, learner, entities[1], b.at(2024, 1, 1, 23, 1))
    headers = auth(new_token(engine))
    for zone, enrolled, completed, days in (
        ("UTC", "31-Dec-2023", "01-Jan-2024", "2 days"),
        ("Europe/Berlin", "01-Jan-2024", "02-Jan-2024", "2 days"),
        ("America/Los_Angeles", "31-Dec-2023", "01-Jan-2024", "2 days"),
        ("Asia/Tokyo", "01-Jan-2024", "02-Jan-2024", "2 days"),
    ):
        with TestClient(zone_app(settings, clock, zone)) as client:
            row = row_of(client, headers, learner)
        assert (row["enrolledDate"], row["completionDate"], row["completedIn"]) == (
            enrolled,
            completed,
            days,
        ), zone


def test_dst_day_in_completed_in(settings: Settings, clock: FakeClock, engine: Engine) -> None:
    learner = b.learner(engine)
    cid, _, entities = b.course(engine, 2)
    b.enrol(engine, learner, cid, 1_679_787_000)  # 25 Mar 2023 23:30 in London
    b.complete(engine, learner, entities[0], 1_679_873_400)  # 24 h later: 27 Mar 00:30 BST
    with TestClient(zone_app(settings, clock, "Europe/London")) as client:
        row = row_of(client, auth(new_token(engine)), learner)
    assert (row["enrolledDate"], row["completedIn"]) == ("25-Mar-2023", "3 days")


def p2(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    return client.get(path, params=params, headers=headers)


def test_single_course_forms(
    client: TestClient, engine: Engine, read_headers: dict[str, str]
) -> None:
    learner = b.learner(engine)
    blended, batch, bl_entities = b.course(engine, 4, course_type=2, mandatory=2)
    paced, _, pc_entities = b.course(engine, 3, mandatory=1)
    lonely, _, _ = b.course(engine, 1)
    b.enrol(engine, learner, blended, b.at(2024, 1, 2), batch_id=batch)
    b.enrol(engine, learner, paced, b.at(2024, 1, 1))
    b.complete(engine, learner, bl_entities[3], b.at(2024, 1, 2))  # optional entity
    b.complete(engine, learner, pc_entities[0], b.at(2024, 1, 3))  # mandatory entity
    base = f"/api/v1/courses/{blended}"

    body = p2(client, read_headers, f"{base}/learners/{learner}/course-progress").json()
    assert [r["courseId"] for r in body["courseProgress"]] == [blended]
    assert body["hasMoreRecords"] is False and body["code"] == 200
    row = body["courseProgress"][0]
    assert (row["totalEntitiesCount"], row["completedEntitiesCount"]) == (4, 1)

    path = f"{base}/batches/{batch}/learners/{learner}/course-progress"
    row = p2(client, read_headers, path, progressType=1).json()["courseProgress"][0]
    assert (row["totalEntitiesCount"], row["completedEntitiesCount"]) == (2, 0)
    assert (row["completionPercentage"], row["completedIn"]) == (0, "")

    path = f"/api/v1/courses/{paced}/batches/0/learners/{learner}/course-progress"
    row = p2(client, read_headers, path, progressType=1).json()["courseProgress"][0]
    assert (row["totalEntitiesCount"], row["completedEntitiesCount"]) == (1, 1)
    assert (row["completionPercentage"], row["completedIn"]) == (100, "3 days")

    past = p2(client, read_headers, f"{base}/learners/{learner}/course-progress", startIndex=1)
    assert past.status_code == 200 and past.json()["courseProgress"] == []

    def not_found(path: str) -> str:
        response = p2(client, read_headers, path)
        assert response.status_code == 404 and response.json()["code"] == 7301, response.text
        return str(response.json()["message"])

    assert "course" in not_found(f"/api/v1/courses/42/learners/{learner}/course-progress")
    assert "batch" in not_found(f"{base}/batches/42/learners/{learner}/course-progress")
    assert "batch" in not_found(f"/api/v1/courses/{paced}/batches/{batch}/learners/{learner}/"
                                "course-progress")  # fmt: skip
    assert "not enrolled" in not_found(
        f"/api/v1/courses/{lonely}/learners/{learner}/course-progress"
    )
    assert "not enrolled" in not_found(
        f"/api/v1/courses/{lonely}/learners/{learner}/course-progress?startIndex=5"
    )
    assert "learner" in not_found(f"{base}/learners/999/course-progress")
    without = not_found(f"{base}/batches/0/learners/{learner}/course-progress")
    assert without.endswith("not without a batch"), without


def test_not_enrolled_there_says_which_batch_the_learner_is_in(
    client: TestClient, engine: Engine, read_headers: dict[str, str]
) -> None:
    # "is not enrolled in course X" read as if the learner were in none of the course's batches.
    learner = b.learner(engine)
    blended, batch, _ = b.course(engine, 1, course_type=2)
    with engine.begin() as c:
        other = catalog.create_batch(c, course_id=blended, name="B2", now=0)
    b.enrol(engine, learner, blended, b.at(2024, 1, 2), batch_id=batch)
    for segment, asked in (("0", "without a batch"), (str(other), f"in batch {other}")):
        path = f"/api/v1/courses/{blended}/batches/{segment}/learners/{learner}/course-progress"
        response = p2(client, read_headers, path)
        assert response.status_code == 404 and response.json()["code"] == 7301, response.text
        assert response.json()["message"] == (
            f"learner {learner} is enrolled in batch {batch} of course {blended}, not {asked}"
        )
