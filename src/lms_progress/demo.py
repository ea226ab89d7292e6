"""The demo store: the seed document's learner and courses (contract section 6).

Loaded through the same write functions as real data, so its totals are kept the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, select

from lms_progress.auth.tokens import Operation, create_token, ensure_user
from lms_progress.catalog import repository as catalog
from lms_progress.learning import repository as learning
from lms_progress.store.schema import learners

LEARNER_ID = 100004000000036860
BLENDED_COURSE_ID = 100004000000045001
BATCH_ID = 100004000000045013
SELF_PACED_COURSE_ID = 100004000000036814
DEMO_API_USER_ID = 100004000000000001
BLENDED_COURSE_NAME = "Blended Learning7!@#$%^&()--+=;;:\"',.?/|\\{}[]"


def _at(year: int, month: int, day: int, hour: int = 9) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp())


def load(connection: Connection) -> bool:
    """Load the demo records; False (and nothing written) when they are there already."""
    exists = connection.execute(select(learners.c.id).where(learners.c.id == LEARNER_ID)).first()
    if exists is not None:
        return False
    created = _at(2023, 7, 1)
    learning.create_learner(
        connection,
        learner_id=LEARNER_ID,
        name="Harvey spector",
        email="harvey.spector@example.com",
        image_url="https://contacts.csez.zohocorpin.com/file?ID=16619869&fs=thumb",
        now=created,
    )

    # Self-paced "Hello": two entities, opened but nothing completed, evaluated 95 of 100.
    catalog.create_course(
        connection,
        course_id=SELF_PACED_COURSE_ID,
        name="Hello",
        course_type=1,
        now=created,
    )
    module = catalog.create_module(
        connection,
        course_id=SELF_PACED_COURSE_ID,
        module_id=100004000000036820,
        name="Getting started",
        now=created,
    )
    for offset, (kind, name) in enumerate(((3, "Welcome pack"), (6, "Reading list"))):
        catalog.create_entity(
            connection,
            entity_id=100004000000036830 + offset,
            module_id=module,
            entity_type=kind,
            name=name,
            now=created,
        )
    learning.enrol(
        connection,
        learner_id=LEARNER_ID,
        course_id=SELF_PACED_COURSE_ID,
        enrolled_at=_at(2023, 8, 1),
    )
    learning.start(
        connection, learner_id=LEARNER_ID, course_id=SELF_PACED_COURSE_ID, at=_at(2023, 8, 2)
    )
    learning.evaluate(
        connection,
        learner_id=LEARNER_ID,
        course_id=SELF_PACED_COURSE_ID,
        awarded=95,
        maximum=100,
        at=_at(2023, 8, 20),
    )

    # Blended course, "Batch 1": four entities, one completed on the enrolment day.
    catalog.create_course(
        connection,
        course_id=BLENDED_COURSE_ID,
        name=BLENDED_COURSE_NAME,
        course_type=2,
        now=created,
    )
    catalog.create_batch(
        connection,
        course_id=BLENDED_COURSE_ID,
        batch_id=BATCH_ID,
        name="Batch 1",
        starts_at=_at(2023, 8, 1),
        ends_at=_at(2023, 9, 30),
        now=created,
    )
    module = catalog.create_module(
        connection,
        course_id=BLENDED_COURSE_ID,
        batch_id=BATCH_ID,
        module_id=100004000000045020,
        name="Week 1",
        now=created,
    )
    kinds = ((3, "Course notes"), (5, "Kick-off session"), (2, "Assignment 1"), (1, "Quiz 1"))
    for offset, (kind, name) in enumerate(kinds):
        catalog.create_entity(
            connection,
            entity_id=100004000000045030 + offset,
            module_id=module,
            entity_type=kind,
            name=name,
            now=created,
        )
    learning.enrol(
        connection,
        learner_id=LEARNER_ID,
        course_id=BLENDED_COURSE_ID,
        batch_id=BATCH_ID,
        enrolled_at=_at(2023, 8, 3),
    )
    learning.complete_entity(
        connection, learner_id=LEARNER_ID, entity_id=100004000000045030, at=_at(2023, 8, 3, 15)
    )
    return True


def read_token(connection: Connection, now: int) -> str:
    """A fresh READ token for the demo's API user."""
    user = ensure_user(connection, DEMO_API_USER_ID, "demo", now)
    return create_token(connection, user_id=user, operations={Operation.READ}, now=now)
