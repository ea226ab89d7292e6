"""The progress reads. Each page is one indexed query over the stored totals; nothing is counted
per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, literal_column, select

from lms_progress.store.reader import Prepared, Reader
from lms_progress.store.schema import batches, courses, learners
from lms_progress.store.schema import enrolments as e
from lms_progress.store.schema import manager_evaluations as m

# Column positions in a page row (after the learner's name and image).
COURSE_ID, COURSE_NAME, TYPE, BATCH_ID, BATCH_NAME = range(2, 7)
ENROLLED_AT, STARTED_AT, COMPLETED_AT = range(7, 10)
TOTAL, COMPLETED, LAST_COMPLETED_AT = range(10, 13)
MANDATORY_TOTAL, MANDATORY_COMPLETED, LAST_MANDATORY_COMPLETED_AT = range(13, 16)
AWARDED, MAXIMUM = range(16, 18)


@dataclass(frozen=True, slots=True)
class LearnerPage:
    name: str
    image_url: str
    rows: list[tuple[Any, ...]]  # up to limit + 1 rows: the extra one says "more records"


def _page_statement(*, by_course: bool, by_batch: bool) -> Any:
    """One page of a learner's active enrolments, newest first, with the learner's name and
    image on every row: one indexed statement.

    (An earlier form outer-joined the learner to the page as a subquery, so that an unknown learner
    and an empty page were told apart in the same statement; SQLite then materialised the page and
    sorted it again, which doubled the cost of a typical page. An empty page now asks for the
    learner separately: the rare case pays the second lookup.)
    """
    where = [e.c.learner_id == bindparam("learner_id"), e.c.ended_at.is_(None)]
    if by_course:
        where.append(e.c.course_id == bindparam("course_id"))
    if by_batch:
        where.append(e.c.batch_id == bindparam("batch_id"))
    return (
        select(
            learners.c.name,
            learners.c.image_url,
            e.c.course_id,
            courses.c.name.label("course_name"),
            courses.c.type,
            e.c.batch_id,
            batches.c.name.label("batch_name"),
            e.c.enrolled_at,
            e.c.started_at,
            e.c.completed_at,
            e.c.total_count,
            e.c.completed_count,
            e.c.last_completed_at,
            e.c.mandatory_total_count,
            e.c.mandatory_completed_count,
            e.c.last_mandatory_completed_at,
            m.c.awarded_marks,
            m.c.maximum_marks,
        )
        .select_from(
            e.join(learners, learners.c.id == e.c.learner_id)
            .join(courses, courses.c.id == e.c.course_id)
            .outerjoin(batches, batches.c.id == e.c.batch_id)
            .outerjoin(m, m.c.enrolment_id == e.c.id)
        )
        .where(and_(*where))
        .order_by(e.c.enrolled_at.desc(), e.c.course_id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


class ProgressRepository:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._all = reader.prepare(_page_statement(by_course=False, by_batch=False))
        self._course = reader.prepare(_page_statement(by_course=True, by_batch=False))
        self._batch = reader.prepare(_page_statement(by_course=True, by_batch=True))
        self._learner = reader.prepare(
            select(learners.c.name, learners.c.image_url).where(
                learners.c.id == bindparam("learner_id")
            )
        )
        self._course_exists = reader.prepare(
            select(literal_column("1")).where(courses.c.id == bindparam("course_id"))
        )
        self._batch_course = reader.prepare(
            select(batches.c.course_id).where(batches.c.id == bindparam("batch_id"))
        )

    def learner_page(
        self,
        learner_id: int,
        *,
        offset: int,
        limit: int,
        course_id: int | None = None,
        batch_id: int | None = None,
    ) -> LearnerPage | None:
        """One page (limit + 1 rows at most) of a learner's active enrolments, or None for an
        unknown learner."""
        statement: Prepared = self._all
        values: dict[str, Any] = {"learner_id": learner_id, "offset": offset, "limit": limit + 1}
        if course_id is not None:
            statement = self._course if batch_id is None else self._batch
            values["course_id"] = course_id
            if batch_id is not None:
                values["batch_id"] = batch_id
        rows = self._reader.fetch(statement, **values)
        if rows:
            first = rows[0]
            return LearnerPage(name=first[0], image_url=first[1] or "", rows=rows)
        learner = self._reader.fetch(self._learner, learner_id=learner_id)
        if not learner:
            return None
        name, image_url = learner[0]
        return LearnerPage(name=name, image_url=image_url or "", rows=[])

    def course_exists(self, course_id: int) -> bool:
        return bool(self._reader.fetch(self._course_exists, course_id=course_id))

    def batch_course(self, batch_id: int) -> int | None:
        rows = self._reader.fetch(self._batch_course, batch_id=batch_id)
        return rows[0][0] if rows else None
