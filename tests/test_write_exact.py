"""What a user trial of the write API found: marks kept exactly, scores and completion dates
checked against what they belong to, and refusals that say what is actually wrong."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from lms_progress.app import create_app
from lms_progress.auth.tokens import Operation
from lms_progress.catalog import repository as catalog
from lms_progress.learning import repository as learning
from lms_progress.settings import Settings
from lms_progress.store.schema import enrolments, entity_completions
from tests.writes_support import (
    ADA,
    B1,
    B1_MODULE,
    BATCH_2,
    BLENDED,
    BOB,
    BY_NAME,
    ENROLLED,
    SELF_PACED,
    SP,
    SP_FILE,
    SP_MODULE,
    build_world,
    dump,
    headers,
)

MARKED = 1301  # an assignment of SELF_PACED out of 10 marks
EVALUATION = f"{SP}/learners/{ADA}/evaluation"
COMPLETE = f"{SP}/learners/{ADA}/complete"


@pytest.fixture
def world(engine: Engine) -> Engine:
    return build_marked_world(engine)


def build_marked_world(engine: Engine) -> Engine:
    build_world(engine)
    with engine.begin() as c:
        catalog.create_entity(
            c,
            entity_id=MARKED,
            module_id=SP_MODULE,
            entity_type=2,
            name="Essay",
            now=0,
            max_marks="10",
        )
    return engine


def send(client: TestClient, engine: Engine, method: str, path: str, raw: str) -> Any:
    """The JSON text exactly as written, not as Python would write it again."""
    return client.request(
        method,
        path,
        content=raw.encode(),
        headers={**headers(engine, Operation.ALL), "content-type": "application/json"},
    )


def served_evaluation(client: TestClient, engine: Engine) -> tuple[str, str]:
    response = client.get(
        f"/api/v1/courses/{SELF_PACED}/learners/{ADA}/course-progress",
        headers=headers(engine, Operation.READ, user_id=8),
    )
    assert response.status_code == 200, response.text
    row = response.json()["courseProgress"][0]
    return row["managerEvaluationTotalMarks"], row["managerEvaluationMarks"]


def refused(response: Any, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["code"], body["status"]) == (code, "failure"), body
    message: str = body["message"]
    return message


BIG = "123456789012345678901234567890"
BIGGER = "123456789012345678901234567891"
SMALLEST = "0.000000000000000000000000000001"


@pytest.mark.parametrize(
    ("awarded", "maximum", "served"),
    [
        (f'"{BIG}"', f'"{BIGGER}"', (BIG, BIGGER)),
        (BIG, BIGGER, (BIG, BIGGER)),
        ("99.99999999999999999", "100.0", ("99.99999999999999999", "100")),
        ('"87.50"', "1e2", ("87.5", "100")),
        # The smallest mark kept, as text too: 32 characters, the width of the column.
        (f'"{SMALLEST}"', '"1"', (SMALLEST, "1")),
        (SMALLEST, '"1.0000000000000000000000000000"', (SMALLEST, "1")),
    ],
)
def test_evaluation_marks_read_back_exactly(
    client: TestClient, world: Engine, awarded: str, maximum: str, served: tuple[str, str]
) -> None:
    raw = f'{{"evaluationData": {{"awardedMarks": {awarded}, "maximumMarks": {maximum}}}}}'
    response = send(client, world, "PUT", EVALUATION, raw)
    assert response.status_code == 200, response.text
    assert served_evaluation(client, world) == served


def test_awarded_above_maximum_by_the_last_digit_is_refused(
    client: TestClient, world: Engine
) -> None:
    # Rounded to 28 digits the two would be equal, and the evaluation accepted.
    raw = f'{{"evaluationData": {{"awardedMarks": "{BIGGER}", "maximumMarks": "{BIG}"}}}}'
    before = dump(world)
    refused(send(client, world, "PUT", EVALUATION, raw), 422, 7221)
    assert dump(world) == before


def test_a_score_is_stored_exactly(client: TestClient, world: Engine) -> None:
    path = f"/api/v1/learners/{ADA}/entities/{MARKED}/completion"
    raw = '{"completionData": {"score": 9.99999999999999999}}'
    response = send(client, world, "POST", path, raw)
    assert response.status_code == 200, response.text
    with world.connect() as c:
        score = c.execute(
            select(entity_completions.c.score).where(entity_completions.c.entity_id == MARKED)
        ).scalar_one()
    assert score == "9.99999999999999999"


@pytest.mark.parametrize("score", ["11", '"10.5"', "10.000000000000000001"])
def test_a_score_above_the_maximum_marks_is_refused(
    client: TestClient, world: Engine, score: str
) -> None:
    path = f"/api/v1/learners/{ADA}/entities/{MARKED}/completion"
    before = dump(world)
    message = refused(
        send(client, world, "POST", path, f'{{"completionData": {{"score": {score}}}}}'),
        422,
        7221,
    )
    assert "maximum marks" in message and "(10)" in message, message
    assert dump(world) == before
    # The maximum itself is a score.
    ok = send(client, world, "POST", path, '{"completionData": {"score": 10}}')
    assert ok.status_code == 200, ok.text


def test_the_maximum_marks_cannot_go_below_a_recorded_score(
    client: TestClient, world: Engine
) -> None:
    with world.begin() as c:
        learning.enrol(c, learner_id=BOB, course_id=SELF_PACED, enrolled_at=ENROLLED)
    for learner, score in ((ADA, "10"), (BOB, "9.5")):
        path = f"/api/v1/learners/{learner}/entities/{MARKED}/completion"
        answer = send(client, world, "POST", path, f'{{"completionData": {{"score": {score}}}}}')
        assert answer.status_code == 200, answer.text
    path = f"{SP}/modules/{SP_MODULE}/assignments/{MARKED}"
    before = dump(world)
    # Compared as numbers: as text, "9.5" is the highest and 9.75 would pass.
    raw = '{"assignmentData": {"maximumMarks": 9.75, "name": "Renamed"}}'
    message = refused(send(client, world, "PATCH", path, raw), 422, 7221)
    assert message == (
        "maximum marks 9.75 are below a score already recorded for entity 1301 (the highest is 10)"
    )
    assert dump(world) == before
    ok = send(client, world, "PATCH", path, '{"assignmentData": {"maximumMarks": "10.0"}}')
    assert ok.status_code == 200, ok.text


START = f"{SP}/learners/{ADA}/start"
COMPLETION = f"/api/v1/learners/{ADA}/entities/{MARKED}/completion"
# The call, its data object, the instant's key, and what the refusal calls it.
DATED = {
    "start": (START, "enrolmentData", "startedAt", "start"),
    "entity completion": (COMPLETION, "completionData", "completedAt", "completion"),
    "admin completion": (COMPLETE, "enrolmentData", "completedAt", "completion"),
}


@pytest.mark.parametrize(
    ("given", "day"),
    [
        ("2024-01-09T23:59:59Z", "09-Jan-2024"),
        ("09-01-2024", "09-Jan-2024"),
        ("2023-06-01T10:00:00+05:30", "01-Jun-2023"),
    ],
)
@pytest.mark.parametrize("call", list(DATED))
def test_a_start_or_completion_on_a_day_before_the_enrolment_is_refused(
    client: TestClient, world: Engine, call: str, given: str, day: str
) -> None:
    # Ada was enrolled on 10 Jan 2024 at noon UTC: a start or an entity completion before that
    # day was stored, and the row read started or completed before enrolled.
    path, name, key, what = DATED[call]
    before = dump(world)
    raw = f'{{"{name}": {{"{key}": "{given}"}}}}'
    message = refused(send(client, world, "POST", path, raw), 422, 7221)
    assert message == f"the {what} ({day}) must not be before the enrolment (10-Jan-2024)"
    assert dump(world) == before


@pytest.mark.parametrize("call", list(DATED))
def test_a_start_or_completion_on_the_enrolment_day_is_accepted(
    client: TestClient, world: Engine, call: str
) -> None:
    # The day form is the start of the day, earlier than the enrolment's time that day.
    path, name, key, _ = DATED[call]
    response = send(client, world, "POST", path, f'{{"{name}": {{"{key}": "10-01-2024"}}}}')
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("call", list(DATED))
def test_the_day_before_the_enrolment_is_the_organisations(settings: Settings, call: str) -> None:
    # At +14:00 Ada's enrolment (10 Jan, 12:00 UTC) is on 11 Jan, and 10 Jan 23:00 is before it.
    app = create_app(settings.model_copy(update={"timezone": "Pacific/Kiritimati"}))
    try:
        engine = build_marked_world(app.state.ctx.engine)
        path, name, key, what = DATED[call]
        with TestClient(app) as client:
            raw = f'{{"{name}": {{"{key}": "2024-01-10T09:00:00Z"}}}}'
            message = refused(send(client, engine, "POST", path, raw), 422, 7221)
        assert message == f"the {what} (10-Jan-2024) must not be before the enrolment (11-Jan-2024)"
    finally:
        app.state.ctx.engine.dispose()


def test_an_admin_completion_before_the_recorded_start_moves_the_start(
    client: TestClient, world: Engine
) -> None:
    # Started on the 20th, completed by an admin on the 12th: the row must not read completed
    # before started (a completed entity moves the start the same way).
    started = send(client, world, "POST", START, '{"enrolmentData": {"startedAt": "20-01-2024"}}')
    assert started.status_code == 200, started.text
    raw = '{"enrolmentData": {"completedAt": "2024-01-12T08:00:00Z"}}'
    assert send(client, world, "POST", COMPLETE, raw).status_code == 200
    with world.connect() as c:
        row = c.execute(
            select(enrolments.c.started_at, enrolments.c.completed_at).where(
                enrolments.c.learner_id == ADA, enrolments.c.course_id == SELF_PACED
            )
        ).one()
    assert row.started_at == row.completed_at


ASSIGNMENTS = f"{B1}/modules/{B1_MODULE}/assignments"


@pytest.mark.parametrize(
    ("marks", "says"),
    [
        ("1e308", "is too large"),
        ('"1e40"', "is too large"),
        ("1e-40", "is too small"),
        ("1.2345678901234567e-20", "more digits than can be kept exactly"),
        ('"abc"', "must be a number >= 0"),
        ("-1", "must be a number >= 0"),
        ('"1_000"', "must be a number >= 0 in plain decimal digits"),
        ('" 5 "', "must be a number >= 0 in plain decimal digits"),
        ('"+5"', "must be a number >= 0 in plain decimal digits"),
    ],
)
def test_refused_marks_say_why(client: TestClient, world: Engine, marks: str, says: str) -> None:
    raw = f'{{"assignmentData": {{"name": "Essay", "maximumMarks": {marks}}}}}'
    message = refused(send(client, world, "POST", ASSIGNMENTS, raw), 400, 7201)
    assert message.startswith("assignmentData.maximumMarks ") and says in message, message


@pytest.mark.parametrize(
    "completed_at",
    ["1900-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59+00:00", "31-12-1969"],
)
def test_instants_before_1970_are_out_of_range_not_malformed(
    client: TestClient, world: Engine, completed_at: str
) -> None:
    raw = f'{{"enrolmentData": {{"completedAt": "{completed_at}"}}}}'
    message = refused(send(client, world, "POST", COMPLETE, raw), 400, 7201)
    assert "1970" in message and "ISO 8601" not in message, message


def test_days_before_1970_are_out_of_range_not_malformed(client: TestClient, world: Engine) -> None:
    raw = '{"batchData": {"name": "Old", "startDate": "01-10-1913"}}'
    message = refused(
        send(client, world, "POST", f"/api/v1/courses/{BLENDED}/batches", raw), 400, 7201
    )
    assert "1970" in message and "DD-MM-YYYY" not in message, message


@pytest.mark.parametrize(
    "raw_id",
    [
        "99999999999999999999999",
        "18446744073709551615",
        "9223372036854775808",
        "-99999999999999999999999",
        '"99999999999999999999999"',
    ],
)
def test_every_id_beyond_64_bits_is_out_of_range(
    client: TestClient, world: Engine, raw_id: str
) -> None:
    raw = f'{{"courseData": {{"name": "Big", "type": 1, "id": {raw_id}}}}}'
    message = refused(send(client, world, "POST", "/api/v1/courses", raw), 400, 7201)
    assert "64-bit" in message, message


def test_an_integer_beyond_64_bits_is_out_of_range(client: TestClient, world: Engine) -> None:
    for raw_type in ("99999999999999999999999", '"99999999999999999999999"'):
        raw = f'{{"courseData": {{"name": "Big", "type": {raw_type}}}}}'
        refused(send(client, world, "POST", "/api/v1/courses", raw), 400, 7201)


def test_the_query_string_form_reads_numbers_exactly_too(client: TestClient, world: Engine) -> None:
    auth = headers(world, Operation.ALL)
    data = '{"awardedMarks": 99.99999999999999999, "maximumMarks": 123456789012345678901234567891}'
    response = client.put(EVALUATION, params={"evaluationData": data}, headers=auth)
    assert response.status_code == 200, response.text
    assert served_evaluation(client, world) == ("99.99999999999999999", BIGGER)
    data = '{"name": "Essay", "maximumMarks": 1e308}'
    response = client.post(ASSIGNMENTS, params={"assignmentData": data}, headers=auth)
    assert "is too large" in refused(response, 400, 7201)


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("email", "ada.example.org", "must be an e-mail address (name@example.com)"),
        ("imageURL", "javascript:alert(1)", "must be an http or https URL"),
        ("imageURL", "http://@", "must be an http or https URL"),
        ("imageURL", "https://user@", "must be an http or https URL"),
        ("imageURL", "http://:80/x.png", "must be an http or https URL"),
        ("imageURL", "http://x:abc/", "must be an http or https URL"),
        ("imageURL", "http://x:99999/", "must be an http or https URL"),
    ],
)
def test_a_learners_email_and_image_must_look_like_them(
    client: TestClient, world: Engine, key: str, value: str, says: str
) -> None:
    raw = f'{{"learnerData": {{"name": "Cy", "{key}": "{value}"}}}}'
    message = refused(send(client, world, "POST", "/api/v1/learners", raw), 400, 7201)
    assert message == f"learnerData.{key} {says}"


def test_an_empty_image_url_still_means_none(client: TestClient, world: Engine) -> None:
    path = f"/api/v1/learners/{ADA}"
    for image in ("https://example.org/ada.png", ""):
        raw = f'{{"learnerData": {{"imageURL": "{image}"}}}}'
        assert send(client, world, "PATCH", path, raw).status_code == 200
    response = client.get(f"{path}/course-progress", headers=headers(world, Operation.READ))
    assert response.json()["learnerImageURL"] == ""


@pytest.mark.parametrize(
    ("call", "taken", "what"),
    [
        ("create course", SELF_PACED, "course"),
        ("create batch", BATCH_2, "batch"),
        ("create module", SP_MODULE, "module"),
        ("create file", SP_FILE, "entity"),
        ("create learner", ADA, "learner"),
    ],
)
def test_a_duplicate_id_is_named_by_its_kind(
    client: TestClient, world: Engine, call: str, taken: int, what: str
) -> None:
    # The table's name less its last letter gave "entitie 1201" and "batche 2102".
    create = BY_NAME[call]
    response = create.send(
        client, headers(world, Operation.ALL), data={**create.data, "id": str(taken)}
    )
    assert refused(response, 409, 7303) == f"{what} {taken} already exists"


@pytest.mark.parametrize(
    ("method", "path", "data", "says"),
    [
        ("PATCH", f"files/{MARKED}", '{"fileData": {"name": "x"}}', "an assignment, not a file"),
        ("PATCH", f"sessions/{SP_FILE}", '{"sessionData": {"name": "x"}}', "a file, not a session"),
        ("POST", f"offlineTests/{SP_FILE}/unpublish", "", "a file, not an offline test"),
        ("DELETE", f"links/{MARKED}", "", "an assignment, not a link"),
    ],
)
def test_an_entity_reached_through_another_collection_says_what_it_is(
    client: TestClient, world: Engine, method: str, path: str, data: str, says: str
) -> None:
    # "entity 1201 not found in module 1101" read as if it were not there at all.
    before = dump(world)
    response = send(client, world, method, f"{SP}/modules/{SP_MODULE}/{path}", data)
    entity = path.split("/")[1]
    assert refused(response, 404, 7301) == f"entity {entity} is {says}"
    assert dump(world) == before


@pytest.mark.parametrize(
    ("call", "first", "again"),
    [
        ("start", "started", "already started"),
        ("admin completion", "completed", "already completed"),
        ("entity completion", "completed", "already completed"),
    ],
)
def test_a_repeated_start_or_completion_says_it_was_recorded_already(
    client: TestClient, world: Engine, call: str, first: str, again: str
) -> None:
    # Answered like the first call, a repeat read as if its (ignored) time had been recorded.
    path, name, key, _ = DATED[call]
    answers = [
        send(client, world, "POST", path, f'{{"{name}": {{"{key}": "{day}-01-2024"}}}}').json()
        for day in (11, 12)
    ]
    assert [(a["message"], a["recorded"]) for a in answers] == [(first, True), (again, False)]
