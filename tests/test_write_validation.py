"""Each validation error of each write endpoint: the right 4xx and code, and nothing written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.writes_support import (
    ADA,
    B1,
    B1_FILE,
    B1_MODULE,
    B2_FILE,
    BATCH_1,
    BATCH_2,
    BL,
    BOB,
    BY_NAME,
    SELF_PACED,
    SP,
    SP_FILE,
    SP_MODULE,
    SP_UNPUBLISHED,
    UNKNOWN,
    build_world,
    dump,
    headers,
)

DROP = object()


@dataclass(frozen=True)
class Case:
    label: str
    status: int
    code: int
    change: dict[str, Any] = field(default_factory=dict)  # merged into the call's good data
    path: str | None = None

    def data(self, good: dict[str, Any]) -> dict[str, Any]:
        merged = {**good, **self.change}
        return {key: value for key, value in merged.items() if value is not DROP}


def c(label: str, status: int, code: int, path: str | None = None, **change: Any) -> Case:
    return Case(label, status, code, change, path)


LONG_NAME = "x" * 251
NAME_CASES = [
    c("name missing", 400, 7202, name=DROP),
    c("name null", 400, 7202, name=None),
    c("name a number", 400, 7204, name=5),
    c("name a list", 400, 7204, name=["a"]),
    c("name blank", 400, 7201, name="   "),
    c("name too long", 422, 7220, name=LONG_NAME),
    c("name with NUL", 400, 7201, name="a\x00b"),
]
OPTIONAL_NAME_CASES = [case for case in NAME_CASES if "missing" not in case.label]
OPTIONAL_NAME_CASES = [case for case in OPTIONAL_NAME_CASES if "null" not in case.label]
ID_CASES = [
    c("id zero", 400, 7201, id=0),
    c("id negative", 400, 7201, id=-1),
    c("id beyond 64 bits", 400, 7201, id=2**63),
    c("id a float", 400, 7204, id=1.5),
    c("id letters", 400, 7204, id="12ab"),
    c("id a bool", 400, 7204, id=True),
]
FUTURE = "2999-01-01T00:00:00Z"
SPM = f"{SP}/modules/{SP_MODULE}"
LEARNERS = "/api/v1/learners"
BOB_IN = f"/learners/{BOB}"

CASES: dict[str, list[Case]] = {
    "create course": [
        *NAME_CASES,
        *ID_CASES,
        c("type missing", 400, 7202, type=DROP),
        c("type letters", 400, 7204, type="a"),
        c("type a float", 400, 7204, type=1.5),
        c("type a bool", 400, 7204, type=True),
        c("type out of range", 400, 7201, type=4),
        c("description a number", 400, 7204, description=5),
        c("description too long", 422, 7220, description="d" * 10_001),
        c("duplicate id", 409, 7303, id=SELF_PACED),
        c("duplicate id as string", 409, 7303, id=str(SELF_PACED)),
    ],
    "update course": [
        *OPTIONAL_NAME_CASES,
        c("type changed", 422, 7221, type=2),
        c("type out of range", 400, 7201, type=0),
    ],
    "create batch": [
        *NAME_CASES,
        *ID_CASES,
        c("duplicate id", 409, 7303, id=BATCH_2),
        c("not a date", 400, 7201, startDate="2013/10/01"),
        c("no such day", 400, 7201, startDate="31-02-2013"),
        c("no such ISO day", 400, 7201, startDate="2013-02-31"),
        c("eight digits not a day", 400, 7201, startDate=20131301),
        c("date a fraction", 400, 7204, startDate=20131001.5),
        c("date a bool", 400, 7204, startDate=True),
        c("ends before it starts", 422, 7221, startDate="02-10-2013", endDate="01-10-2013"),
        c("capacity negative", 400, 7201, maximumCapacity=-1),
        c("capacity letters", 400, 7204, maximumCapacity="ten"),
        c("batch of a self-paced course", 422, 7221, path=f"{SP}/batches"),
    ],
    "update batch": [
        *OPTIONAL_NAME_CASES,
        c("ends before it starts", 422, 7221, startDate="02-10-2013", endDate="01-10-2013"),
        c("batch of another course", 404, 7301, path=f"{SP}/batches/{BATCH_1}"),
    ],
    "create module": [
        *NAME_CASES,
        *ID_CASES,
        c("duplicate id", 409, 7303, id=SP_MODULE),
        c("description too long", 422, 7220, description="d" * 10_001),
    ],
    "create module in batch": [
        *NAME_CASES,
        c("batch of another course", 404, 7301, path=f"{SP}/batches/{BATCH_1}/modules"),
    ],
    "update module": [
        *OPTIONAL_NAME_CASES,
        c("module of another course", 404, 7301, path=f"{SP}/modules/{B1_MODULE}"),
        c("batch module by the course path", 404, 7301, path=f"{BL}/modules/{B1_MODULE}"),
    ],
    "update module in batch": [
        c("module of another batch", 404, 7301, path=f"{BL}/batches/{BATCH_2}/modules/{B1_MODULE}"),
    ],
    "create file": [
        *NAME_CASES,
        *ID_CASES,
        c("duplicate id", 409, 7303, id=SP_FILE),
        c("isMandatory a word", 400, 7204, isMandatory="yes"),
        c("isMandatory a number", 400, 7204, isMandatory=1),
        c("isPublished a number", 400, 7204, isPublished=0),
        c("module of another course", 404, 7301, path=f"{SP}/modules/{B1_MODULE}/files"),
    ],
    "create assignment in batch": [
        c("marks missing", 400, 7202, maximumMarks=DROP),
        c("marks negative", 400, 7201, maximumMarks=-1),
        c("marks not a number", 400, 7201, maximumMarks="abc"),
        c("marks a bool", 400, 7204, maximumMarks=True),
        c("marks a list", 400, 7204, maximumMarks=[1]),
        c("marks infinite", 400, 7201, maximumMarks="Infinity"),
        c("marks overflowing", 400, 7201, maximumMarks="1e100000000"),
        c("marks a million digits", 400, 7201, maximumMarks="1e999999"),
        c("marks too long", 422, 7220, maximumMarks="0.0000000000000000000000000000010"),
        c("marks with an underscore", 400, 7201, maximumMarks="1_000"),
        c("marks padded", 400, 7201, maximumMarks=" 5"),
        c("marks too precise", 400, 7201, maximumMarks=1.2345678901234567e-20),
    ],
    "create session in batch": [
        c("session in a self-paced course", 422, 7221, path=f"{SP}/modules/{SP_MODULE}/sessions"),
    ],
    "update file": [
        *OPTIONAL_NAME_CASES,
        c("isMandatory a word", 400, 7204, isMandatory="no way"),
        c("wrong collection", 404, 7301, path=f"{SP}/modules/{SP_MODULE}/links/{SP_FILE}"),
        c("entity of another module", 404, 7301, path=f"{SP}/modules/{SP_MODULE}/files/{B1_FILE}"),
    ],
    "unpublish file": [
        c("wrong collection", 404, 7301, path=f"{SPM}/sessions/{SP_FILE}/unpublish"),
    ],
    "delete file in batch": [
        c("entity of another batch", 404, 7301, path=f"{B1}/modules/{B1_MODULE}/files/{B2_FILE}"),
    ],
    "create learner": [
        *NAME_CASES,
        *ID_CASES,
        c("duplicate id", 409, 7303, id=ADA),
        c("email too long", 422, 7220, email="e" * 321),
        c("email a number", 400, 7204, email=5),
        c("image URL too long", 422, 7220, imageURL="u" * 2001),
        c("email without @", 400, 7201, email="ada.example.org"),
        c("email with two @", 400, 7201, email="ada@example@org"),
        c("email without a domain", 400, 7201, email="ada@"),
        c("email with a space", 400, 7201, email="ada @example.org"),
        c("image URL javascript:", 400, 7201, imageURL="javascript:alert(1)"),
        c("image URL without a host", 400, 7201, imageURL="https://"),
        c("image URL relative", 400, 7201, imageURL="/ada.png"),
        c("unknown manager", 404, 7301, managerId=UNKNOWN),
        c("manager letters", 400, 7204, managerId="boss"),
    ],
    "update learner": [
        *OPTIONAL_NAME_CASES,
        c("own manager", 422, 7221, managerId=ADA),
        c("unknown manager", 404, 7301, managerId=UNKNOWN),
        c("active a word", 400, 7204, active="maybe"),
        c("email without @", 400, 7201, email="ada"),
        c("image URL data:", 400, 7201, imageURL="data:image/png;base64,AAAA"),
    ],
    "enrol": [
        c("already enrolled", 409, 7304, path=f"{SP}/learners/{ADA}/enrolment"),
        c("blended course without a batch", 422, 7221, path=f"{BL}/learners/{BOB}/enrolment"),
        c("in the future", 422, 7221, enrolledAt=FUTURE),
        c("not a date", 400, 7201, enrolledAt="yesterday"),
        c("before 1970", 400, 7201, enrolledAt=-1),
        c("too long", 422, 7220, enrolledAt="2024-01-01T10:00:00" + " " * 30 + "Z"),
        c("a fraction", 400, 7204, enrolledAt=1704067200.5),
    ],
    "enrol in batch": [
        c("batch of another course", 404, 7301, path=f"{SP}/batches/{BATCH_1}{BOB_IN}/enrolment"),
        c("already enrolled", 409, 7304, path=f"{B1}/learners/{ADA}/enrolment"),
    ],
    "unenrol": [
        c("not enrolled", 404, 7301, path=f"{SP}/learners/{BOB}/enrolment"),
    ],
    "move batch": [
        c("not enrolled", 404, 7301, path=f"{BL}/batches/{BATCH_2}/learners/{BOB}/move"),
        c("batch of another course", 404, 7301, path=f"{SP}/batches/{BATCH_2}/learners/{ADA}/move"),
    ],
    "start": [
        c("in the future", 422, 7221, startedAt=FUTURE),
        c("not enrolled", 404, 7301, path=f"{SP}/learners/{BOB}/start"),
    ],
    "mark complete": [
        c("not a date", 400, 7201, completedAt="20/01/2024"),
        c("in the future", 422, 7221, completedAt="01-01-2999"),
        c("not enrolled", 404, 7301, path=f"{SP}/learners/{BOB}/complete"),
    ],
    "evaluate": [
        c("awarded missing", 400, 7202, awardedMarks=DROP),
        c("maximum missing", 400, 7202, maximumMarks=DROP),
        c("awarded above maximum", 422, 7221, awardedMarks=101),
        c("maximum zero", 422, 7221, awardedMarks=0, maximumMarks=0),
        c("awarded negative", 400, 7201, awardedMarks=-1),
        c("awarded not a number", 400, 7201, awardedMarks="lots"),
        c("awarded a bool", 400, 7204, awardedMarks=True),
        c("unknown evaluator", 404, 7301, evaluatedBy=UNKNOWN),
        c("not enrolled", 404, 7301, path=f"{SP}/learners/{BOB}/evaluation"),
    ],
    "complete entity": [
        c("in the future", 422, 7221, completedAt=FUTURE),
        c("score negative", 400, 7201, score=-3),
        c("score a list", 400, 7204, score=[1]),
        c("unpublished", 409, 7304, path=f"{LEARNERS}/{ADA}/entities/{SP_UNPUBLISHED}/completion"),
        c("other batch", 404, 7301, path=f"{LEARNERS}/{ADA}/entities/{B2_FILE}/completion"),
        c("not enrolled", 404, 7301, path=f"{LEARNERS}/{BOB}/entities/{SP_FILE}/completion"),
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_each_invalid_input_is_refused_and_changes_nothing(
    client: TestClient, engine: Engine, name: str
) -> None:
    build_world(engine)
    call = BY_NAME[name]
    before = dump(engine)
    for n, case in enumerate(CASES[name]):
        # A user per case: the rate limit counts per user and route.
        auth = headers(engine, call.scope, user_id=1000 + n)
        response = call.send(client, auth, data=case.data(call.data), path=case.path)
        assert response.status_code == case.status, (case.label, response.text)
        body = response.json()
        assert (body["code"], body["status"]) == (case.code, "failure"), (case.label, body)
    assert dump(engine) == before
