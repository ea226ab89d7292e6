"""Small builders of test data, through the same write functions the service uses."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy import Engine

from lms_progress.catalog import repository as catalog
from lms_progress.learning import repository as learning

_ids = itertools.count(500_000_000_000_000_001)


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def learner(engine: Engine, name: str = "Ada", learner_id: int | None = None) -> int:
    with engine.begin() as c:
        return learning.create_learner(c, name=name, now=0, learner_id=learner_id)


def course(
    engine: Engine,
    entities: int,
    *,
    name: str = "Course",
    course_type: int = 1,
    mandatory: int | None = None,
    course_id: int | None = None,
) -> tuple[int, int | None, list[int]]:
    """A course (with one batch when blended) and `entities` entities; the first `mandatory`
    of them mandatory (all when None). Returns (course id, batch id, entity ids)."""
    with engine.begin() as c:
        cid = catalog.create_course(
            c, name=name, course_type=course_type, now=0, course_id=course_id or next(_ids)
        )
        bid = (
            catalog.create_batch(c, course_id=cid, name="Batch", now=0, batch_id=next(_ids))
            if course_type == 2
            else None
        )
        mid = catalog.create_module(c, course_id=cid, batch_id=bid, name="M", now=0)
        ids = [
            catalog.create_entity(
                c,
                module_id=mid,
                entity_type=3,
                name=f"E{i}",
                now=0,
                mandatory=mandatory is None or i < mandatory,
                entity_id=next(_ids),
            )
            for i in range(entities)
        ]
    return cid, bid, ids


def enrol(
    engine: Engine, learner_id: int, course_id: int, when: int, batch_id: int | None = None
) -> int:
    with engine.begin() as c:
        return learning.enrol(
            c, learner_id=learner_id, course_id=course_id, enrolled_at=when, batch_id=batch_id
        )


def complete(engine: Engine, learner_id: int, entity_id: int, when: int) -> bool:
    with engine.begin() as c:
        return learning.complete_entity(c, learner_id=learner_id, entity_id=entity_id, at=when)
