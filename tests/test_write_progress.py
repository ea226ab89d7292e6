"""What writes do to the progress the API serves: the decisions of docs/api.md ("Progress rules"
and "Writes"), each read back through P1 and P2."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress.auth.tokens import Operation
from tests.writes_support import headers


class Api:
    def __init__(self, client: TestClient, engine: Engine) -> None:
        self.client = client
        self.auth = headers(engine, Operation.ALL)
        self.read = headers(engine, Operation.READ, user_id=8)

    def call(
        self,
        method: str,
        path: str,
        data_name: str | None = None,
        /,
        expect: int = 200,
        **data: Any,
    ) -> dict[str, Any]:
        body = {data_name: data} if data_name else None
        response = self.client.request(method, "/api/v1" + path, json=body, headers=self.auth)
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result

    def progress(self, learner: str) -> dict[int, dict[str, Any]]:
        response = self.client.get(f"/api/v1/learners/{learner}/course-progress", headers=self.read)
        assert response.status_code == 200, response.text
        return {row["courseId"]: row for row in response.json()["courseProgress"]}

    def row(self, learner: str, course: str, **query: str) -> dict[str, Any]:
        response = self.client.get(
            f"/api/v1/courses/{course}/learners/{learner}/course-progress",
            params=query,
            headers=self.read,
        )
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["courseProgress"]
        assert len(rows) == 1
        return rows[0]

    def complete(self, learner: str, entity: str, when: str | None = None) -> bool:
        data = {"completedAt": when} if when else {}
        path = f"/learners/{learner}/entities/{entity}/completion"
        recorded: bool = self.call("POST", path, "completionData", **data)["recorded"]
        return recorded


@pytest.fixture
def api(client: TestClient, engine: Engine) -> Api:
    return Api(client, engine)


def self_paced(api: Api, entities: int) -> tuple[str, str, list[str]]:
    course = api.call("POST", "/courses", "courseData", name="SP", type=1)["courseId"]
    module = api.call("POST", f"/courses/{course}/modules", "moduleData", name="M")["moduleId"]
    ids = [
        api.call("POST", f"/courses/{course}/modules/{module}/files", "fileData", name=f"F{i}")[
            "fileId"
        ]
        for i in range(entities)
    ]
    return course, module, ids


def learner(api: Api, name: str = "Ada") -> str:
    learner_id: str = api.call("POST", "/learners", "learnerData", name=name)["learnerId"]
    return learner_id


def enrol(api: Api, learner_id: str, course: str, batch: str | None = None) -> None:
    where = f"/courses/{course}" + (f"/batches/{batch}" if batch else "")
    api.call(
        "POST",
        f"{where}/learners/{learner_id}/enrolment",
        "enrolmentData",
        enrolledAt="2024-01-10T09:00:00Z",
    )


def counts(row: dict[str, Any]) -> tuple[int, int, int, str]:
    return (
        row["completedEntitiesCount"],
        row["totalEntitiesCount"],
        row["completionPercentage"],
        row["completionStatus"],
    )


def test_completing_an_entity_twice_counts_once_and_keeps_the_first_time(api: Api) -> None:
    course, _, (first, second) = self_paced(api, 2)
    ada = learner(api)
    enrol(api, ada, course)
    assert counts(api.progress(ada)[int(course)]) == (0, 2, 0, "Yet to start")
    assert api.complete(ada, first, "2024-01-12T10:00:00Z") is True
    assert api.complete(ada, first, "2024-01-20T10:00:00Z") is False
    row = api.progress(ada)[int(course)]
    assert counts(row) == (1, 2, 50, "In progress")
    assert row["completedIn"] == "3 days"  # 10 to 12 January, both days counted
    assert api.complete(ada, second, "15-01-2024") is True
    row = api.progress(ada)[int(course)]
    assert counts(row) == (2, 2, 100, "Completed")
    assert (row["completionDate"], row["completedIn"]) == ("15-Jan-2024", "6 days")


def test_entities_added_after_completion_keep_the_course_completed(api: Api) -> None:
    course, module, (only,) = self_paced(api, 1)
    ada = learner(api)
    enrol(api, ada, course)
    api.complete(ada, only, "2024-01-12T10:00:00Z")
    api.call("POST", f"/courses/{course}/modules/{module}/links", "linkData", name="New")
    row = api.progress(ada)[int(course)]
    assert counts(row) == (1, 2, 50, "Completed")
    assert row["completionDate"] == "12-Jan-2024"


def test_unpublish_delete_and_publish_recount_without_undoing_completion(api: Api) -> None:
    course, module, (a, b, c) = self_paced(api, 3)
    ada, bob = learner(api), learner(api, "Bob")
    for who in (ada, bob):
        enrol(api, who, course)
    for entity in (a, b, c):
        api.complete(ada, entity, "2024-01-12T10:00:00Z")
    api.complete(bob, a, "2024-01-11T10:00:00Z")
    api.complete(bob, b, "2024-01-13T10:00:00Z")
    files = f"/courses/{course}/modules/{module}/files"

    api.call("POST", f"{files}/{c}/unpublish")
    # Bob had done everything still published: complete, on the day of his last completion.
    bob_row = api.progress(bob)[int(course)]
    assert counts(bob_row) == (2, 2, 100, "Completed")
    assert bob_row["completionDate"] == "13-Jan-2024"
    assert counts(api.progress(ada)[int(course)]) == (2, 2, 100, "Completed")

    api.call("DELETE", f"{files}/{b}")
    assert counts(api.progress(ada)[int(course)]) == (1, 1, 100, "Completed")
    api.call("POST", f"{files}/{c}/publish")
    # Ada's completion of c was kept while it was unpublished, and counts again.
    assert counts(api.progress(ada)[int(course)]) == (2, 2, 100, "Completed")
    assert counts(api.progress(bob)[int(course)]) == (1, 2, 50, "Completed")
    # A deleted entity is gone for good.
    api.call("POST", f"{files}/{b}/publish", expect=404)
    api.call("POST", f"/learners/{ada}/entities/{b}/completion", expect=404)


def test_reenrolling_starts_afresh(api: Api) -> None:
    course, _, (a, _b) = self_paced(api, 2)
    ada = learner(api)
    enrol(api, ada, course)
    api.complete(ada, a, "2024-01-12T10:00:00Z")
    api.call(
        "PUT", f"/courses/{course}/learners/{ada}/evaluation", "evaluationData",
        awardedMarks=9, maximumMarks=10,
    )  # fmt: skip
    api.call("DELETE", f"/courses/{course}/learners/{ada}/enrolment")
    assert api.progress(ada) == {}
    api.call("GET", f"/courses/{course}/learners/{ada}/course-progress", expect=404)
    api.call("DELETE", f"/courses/{course}/learners/{ada}/enrolment", expect=404)

    api.call("POST", f"/courses/{course}/learners/{ada}/enrolment")
    row = api.progress(ada)[int(course)]
    assert counts(row) == (0, 2, 0, "Yet to start")
    assert (row["managerEvaluationMarks"], row["completedIn"]) == ("", "")
    # The old completion does not carry over, so completing it again counts.
    assert api.complete(ada, a) is True
    assert counts(api.progress(ada)[int(course)]) == (1, 2, 50, "In progress")


def blended(api: Api) -> dict[str, str]:
    """A blended course with a course-level module (1 file) and two batches (1 and 2 files)."""
    ids: dict[str, str] = {}
    ids["course"] = api.call("POST", "/courses", "courseData", name="BL", type=2)["courseId"]
    course = f"/courses/{ids['course']}"
    module = api.call("POST", f"{course}/modules", "moduleData", name="Shared")["moduleId"]
    ids["shared"] = api.call("POST", f"{course}/modules/{module}/files", "fileData", name="S")[
        "fileId"
    ]
    for batch, files in (("b1", 1), ("b2", 2)):
        ids[batch] = api.call("POST", f"{course}/batches", "batchData", name=batch)["batchId"]
        where = f"{course}/batches/{ids[batch]}"
        module = api.call("POST", f"{where}/modules", "moduleData", name="M")["moduleId"]
        for n in range(files):
            ids[f"{batch}.{n}"] = api.call(
                "POST", f"{where}/modules/{module}/sessions", "sessionData", name=f"S{n}"
            )["sessionId"]
    return ids


def test_moving_batch_keeps_one_row_and_recounts_for_the_new_batch(api: Api) -> None:
    ids = blended(api)
    ada = learner(api)
    enrol(api, ada, ids["course"], ids["b1"])
    api.complete(ada, ids["shared"], "2024-01-11T10:00:00Z")
    api.complete(ada, ids["b1.0"], "2024-01-12T10:00:00Z")
    rows = api.progress(ada)
    assert counts(rows[int(ids["course"])]) == (2, 2, 100, "Completed")

    move = f"/courses/{ids['course']}/batches/{{}}/learners/{ada}/move"
    assert api.call("POST", move.format(ids["b2"]))["moved"] is True
    rows = api.progress(ada)
    assert len(rows) == 1
    row = rows[int(ids["course"])]
    # The shared entity still counts; the first batch's does not apply in the second.
    assert counts(row) == (1, 3, 33, "Completed")
    assert (row["batchId"], row["batchName"]) == (int(ids["b2"]), "b2")
    # A completion of the old batch's entity is refused now ...
    api.call("POST", f"/learners/{ada}/entities/{ids['b1.0']}/completion", expect=404)
    assert api.call("POST", move.format(ids["b2"]))["moved"] is False
    # ... and counts again when the learner moves back.
    api.call("POST", move.format(ids["b1"]))
    assert counts(api.progress(ada)[int(ids["course"])]) == (2, 2, 100, "Completed")


def test_moving_an_unfinished_learner_counts_the_new_batch(api: Api) -> None:
    ids = blended(api)
    ada = learner(api)
    enrol(api, ada, ids["course"], ids["b2"])
    api.complete(ada, ids["b2.0"], "2024-01-12T10:00:00Z")
    api.call("POST", f"/courses/{ids['course']}/batches/{ids['b1']}/learners/{ada}/move")
    assert counts(api.progress(ada)[int(ids["course"])]) == (0, 2, 0, "In progress")
    api.complete(ada, ids["shared"])
    api.complete(ada, ids["b1.0"])
    assert counts(api.progress(ada)[int(ids["course"])]) == (2, 2, 100, "Completed")


def test_start_complete_and_evaluate(api: Api) -> None:
    course, _, _ = self_paced(api, 4)
    ada = learner(api)
    enrol(api, ada, course)
    base = f"/courses/{course}/learners/{ada}"
    api.call("POST", f"{base}/start", "enrolmentData", startedAt="11-01-2024")
    assert counts(api.progress(ada)[int(course)]) == (0, 4, 0, "In progress")
    api.call("PUT", f"{base}/evaluation", "evaluationData", awardedMarks=95, maximumMarks=100)
    api.call(
        "PUT", f"{base}/evaluation", "evaluationData", awardedMarks="87.50", maximumMarks="100.0"
    )
    api.call("POST", f"{base}/complete", "enrolmentData", completedAt="2024-01-20T23:30:00-05:00")
    row = api.progress(ada)[int(course)]
    assert counts(row) == (0, 4, 0, "Completed")
    assert (row["managerEvaluationTotalMarks"], row["managerEvaluationMarks"]) == ("87.5", "100")
    # 23:30 at UTC-5 is 04:30 UTC on the 21st: the day in the organisation's zone (UTC here).
    assert row["completionDate"] == "21-Jan-2024"
    # Marking complete again keeps the first completion.
    api.call("POST", f"{base}/complete")
    assert api.progress(ada)[int(course)]["completionDate"] == "21-Jan-2024"


def test_mandatory_changes_follow_in_the_mandatory_totals(api: Api) -> None:
    course, module, (a, b) = self_paced(api, 2)
    ada = learner(api)
    enrol(api, ada, course)
    api.complete(ada, a)
    assert counts(api.row(ada, course, progressType="1")) == (1, 2, 50, "In progress")
    api.call(
        "PATCH", f"/courses/{course}/modules/{module}/files/{b}", "fileData", isMandatory=False
    )
    mandatory = api.row(ada, course, progressType="1")
    assert counts(mandatory)[:3] == (1, 1, 100)
    assert counts(api.row(ada, course))[:3] == (1, 2, 50)
    # isPublished in an update unpublishes too.
    api.call(
        "PATCH", f"/courses/{course}/modules/{module}/files/{b}", "fileData", isPublished=False
    )
    assert counts(api.row(ada, course)) == (1, 1, 100, "Completed")


def test_renames_show_in_the_progress_rows(api: Api) -> None:
    ids = blended(api)
    ada = learner(api)
    enrol(api, ada, ids["course"], ids["b1"])
    api.call("PATCH", f"/courses/{ids['course']}", "courseData", name="Renamed «course»", type=2)
    api.call("PATCH", f"/courses/{ids['course']}/batches/{ids['b1']}", "batchData", name="B one")
    api.call("PATCH", f"/learners/{ada}", "learnerData", name="Ada L.", imageURL="https://x/y.png")
    response = api.client.get(f"/api/v1/learners/{ada}/course-progress", headers=api.read)
    body = response.json()
    assert (body["learnerName"], body["learnerImageURL"]) == ("Ada L.", "https://x/y.png")
    row = body["courseProgress"][0]
    assert (row["courseName"], row["batchName"]) == ("Renamed «course»", "B one")


def test_a_deactivated_learner_is_kept_but_cannot_learn(api: Api) -> None:
    course, _, (a, b) = self_paced(api, 2)
    other, _, _ = self_paced(api, 1)
    ada = learner(api)
    enrol(api, ada, course)
    api.complete(ada, a)
    answer = api.call("DELETE", f"/learners/{ada}")
    assert (answer["active"], answer["message"]) == (False, "deactivated")
    assert api.call("DELETE", f"/learners/{ada}")["message"] == "already deactivated"
    # History stays readable.
    assert counts(api.progress(ada)[int(course)]) == (1, 2, 50, "In progress")
    refused = api.call("POST", f"/learners/{ada}/entities/{b}/completion", expect=409)
    assert refused["code"] == 7304
    api.call("POST", f"/courses/{other}/learners/{ada}/enrolment", expect=409)
    api.call("PATCH", f"/learners/{ada}", "learnerData", active=True)
    assert api.complete(ada, b) is True
    api.call("POST", f"/courses/{other}/learners/{ada}/enrolment")
