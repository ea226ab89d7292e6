"""A small world to write into, the table of write endpoints, and a dump of the store to prove
that a refused write changed nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from lms_progress.auth.tokens import Operation
from lms_progress.catalog import repository as catalog
from lms_progress.learning import repository as learning
from lms_progress.store.schema import api_tokens, api_users, metadata
from tests.builders import at
from tests.conftest import auth, new_token

# The world: ids chosen by hand so that paths read plainly in the tests.
SELF_PACED = 1001
SP_MODULE = 1101
SP_FILE = 1201
SP_UNPUBLISHED = 1202
BLENDED = 2001
BATCH_1 = 2101
BATCH_2 = 2102
B1_MODULE = 2201
COURSE_MODULE = 2202  # a module of the blended course itself, outside any batch
B1_FILE = 2301
B2_FILE = 2302
COURSE_FILE = 2303
ADA = 3001  # enrolled in SELF_PACED and in BATCH_1 of BLENDED
BOB = 3002  # enrolled nowhere
MANAGER = 3003
UNKNOWN = 999_999

ENROLLED = at(2024, 1, 10)


def build_world(engine: Engine) -> None:
    with engine.begin() as c:
        catalog.create_course(c, course_id=SELF_PACED, name="Self paced", course_type=1, now=0)
        catalog.create_module(c, module_id=SP_MODULE, course_id=SELF_PACED, name="M", now=0)
        for entity_id, published in ((SP_FILE, True), (SP_UNPUBLISHED, False)):
            catalog.create_entity(
                c,
                entity_id=entity_id,
                module_id=SP_MODULE,
                entity_type=3,
                name="F",
                now=0,
                published=published,
            )
        catalog.create_course(c, course_id=BLENDED, name="Blended", course_type=2, now=0)
        for batch in (BATCH_1, BATCH_2):
            catalog.create_batch(c, batch_id=batch, course_id=BLENDED, name=f"B{batch}", now=0)
        catalog.create_module(
            c, module_id=B1_MODULE, course_id=BLENDED, batch_id=BATCH_1, name="M", now=0
        )
        catalog.create_module(c, module_id=COURSE_MODULE, course_id=BLENDED, name="C", now=0)
        b2_module = catalog.create_module(c, course_id=BLENDED, batch_id=BATCH_2, name="M2", now=0)
        for entity_id, module in (
            (B1_FILE, B1_MODULE),
            (B2_FILE, b2_module),
            (COURSE_FILE, COURSE_MODULE),
        ):
            catalog.create_entity(
                c, entity_id=entity_id, module_id=module, entity_type=3, name="F", now=0
            )
        for learner in (ADA, BOB, MANAGER):
            learning.create_learner(c, learner_id=learner, name=f"L{learner}", now=0)
        learning.enrol(c, learner_id=ADA, course_id=SELF_PACED, enrolled_at=ENROLLED)
        learning.enrol(c, learner_id=ADA, course_id=BLENDED, batch_id=BATCH_1, enrolled_at=ENROLLED)


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the API's own users and tokens, in a stable order."""
    tables = [t for t in metadata.sorted_tables if t not in (api_users, api_tokens)]
    with engine.connect() as connection:
        return {
            t.name: sorted(
                (tuple(row) for row in connection.execute(select(t))),
                key=repr,
            )
            for t in tables
        }


def headers(engine: Engine, *operations: Operation, user_id: int = 7) -> dict[str, str]:
    return auth(new_token(engine, *operations, user_id=user_id))


@dataclass(frozen=True)
class Call:
    """One write endpoint with a request it accepts in the world above."""

    name: str
    method: str
    path: str
    scope: Operation
    data_name: str | None = None  # the JSON object's name; None: the call reads no body
    data: dict[str, Any] = field(default_factory=dict)
    data_required: bool = True

    def send(
        self,
        client: TestClient,
        headers: dict[str, str],
        data: dict[str, Any] | None = None,
        path: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        if data is None and "content" not in kwargs and "params" not in kwargs:
            data = self.data
        if data is not None and "json" not in kwargs:
            kwargs["json"] = data if self.data_name is None else {self.data_name: data}
        return client.request(self.method, path or self.path, headers=headers, **kwargs)


SP = f"/api/v1/courses/{SELF_PACED}"
BL = f"/api/v1/courses/{BLENDED}"
B1 = f"{BL}/batches/{BATCH_1}"

CALLS = [
    Call("create course", "POST", "/api/v1/courses", Operation.CREATE, "courseData",
         {"name": "New", "type": 1}),
    Call("update course", "PATCH", SP, Operation.UPDATE, "courseData", {"name": "Renamed"}),
    Call("create batch", "POST", f"{BL}/batches", Operation.CREATE, "batchData",
         {"name": "B3", "startDate": "01-10-2013", "endDate": "01-02-2014"}),
    Call("update batch", "PATCH", B1, Operation.UPDATE, "batchData", {"name": "Renamed"}),
    Call("create module", "POST", f"{SP}/modules", Operation.CREATE, "moduleData",
         {"name": "New"}),
    Call("create module in batch", "POST", f"{B1}/modules", Operation.CREATE, "moduleData",
         {"name": "New"}),
    Call("update module", "PATCH", f"{SP}/modules/{SP_MODULE}", Operation.UPDATE,
         "moduleData", {"name": "Renamed"}),
    Call("update module in batch", "PATCH", f"{B1}/modules/{B1_MODULE}", Operation.UPDATE,
         "moduleData", {"name": "Renamed"}),
    Call("create file", "POST", f"{SP}/modules/{SP_MODULE}/files", Operation.CREATE,
         "fileData", {"name": "New"}),
    Call("create link in batch", "POST", f"{B1}/modules/{B1_MODULE}/links", Operation.CREATE,
         "linkData", {"name": "New", "embedURL": "https://example.com"}),
    Call("create assignment in batch", "POST", f"{B1}/modules/{B1_MODULE}/assignments",
         Operation.CREATE, "assignmentData", {"name": "New", "maximumMarks": 20}),
    Call("create offline test in batch", "POST", f"{B1}/modules/{B1_MODULE}/offlineTests",
         Operation.CREATE, "offlineTestData", {"name": "New"}),
    Call("create online test in batch", "POST", f"{B1}/modules/{B1_MODULE}/onlineTests",
         Operation.CREATE, "onlineTestData", {"name": "New"}),
    Call("create session in batch", "POST", f"{B1}/modules/{B1_MODULE}/sessions",
         Operation.CREATE, "sessionData", {"name": "New"}),
    Call("update file", "PATCH", f"{SP}/modules/{SP_MODULE}/files/{SP_FILE}", Operation.UPDATE,
         "fileData", {"name": "Renamed", "isMandatory": False}),
    Call("update file in batch", "PATCH", f"{B1}/modules/{B1_MODULE}/files/{B1_FILE}",
         Operation.UPDATE, "fileData", {"isMandatory": False}),
    Call("unpublish file", "POST", f"{SP}/modules/{SP_MODULE}/files/{SP_FILE}/unpublish",
         Operation.UPDATE),
    Call("publish file", "POST", f"{SP}/modules/{SP_MODULE}/files/{SP_UNPUBLISHED}/publish",
         Operation.UPDATE),
    Call("delete file", "DELETE", f"{SP}/modules/{SP_MODULE}/files/{SP_FILE}",
         Operation.DELETE),
    Call("delete file in batch", "DELETE", f"{B1}/modules/{B1_MODULE}/files/{B1_FILE}",
         Operation.DELETE),
    Call("create learner", "POST", "/api/v1/learners", Operation.CREATE, "learnerData",
         {"name": "Cy", "email": "cy@example.com", "managerId": str(MANAGER)}),
    Call("update learner", "PATCH", f"/api/v1/learners/{ADA}", Operation.UPDATE, "learnerData",
         {"name": "Ada L."}),
    Call("deactivate learner", "DELETE", f"/api/v1/learners/{ADA}", Operation.DELETE),
    Call("enrol", "POST", f"{SP}/learners/{BOB}/enrolment", Operation.CREATE, "enrolmentData",
         {}, data_required=False),
    Call("enrol in batch", "POST", f"{B1}/learners/{BOB}/enrolment", Operation.CREATE,
         "enrolmentData", {"enrolledAt": "2024-01-01T09:00:00Z"}, data_required=False),
    Call("unenrol", "DELETE", f"{SP}/learners/{ADA}/enrolment", Operation.DELETE),
    Call("move batch", "POST", f"{BL}/batches/{BATCH_2}/learners/{ADA}/move", Operation.UPDATE),
    Call("start", "POST", f"{SP}/learners/{ADA}/start", Operation.UPDATE, "enrolmentData", {},
         data_required=False),
    Call("mark complete", "POST", f"{SP}/learners/{ADA}/complete", Operation.UPDATE,
         "enrolmentData", {"completedAt": "20-01-2024"}, data_required=False),
    Call("evaluate", "PUT", f"{SP}/learners/{ADA}/evaluation", Operation.UPDATE,
         "evaluationData", {"awardedMarks": 87.5, "maximumMarks": "100"}),
    Call("complete entity", "POST", f"/api/v1/learners/{ADA}/entities/{SP_FILE}/completion",
         Operation.CREATE, "completionData", {"completedAt": "2024-01-11T10:00:00+05:30"},
         data_required=False),
]  # fmt: skip

BY_NAME = {call.name: call for call in CALLS}
WITH_DATA = [call for call in CALLS if call.data_name is not None]
